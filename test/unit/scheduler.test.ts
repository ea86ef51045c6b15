import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appliesTo } from '../../archive/arch.js';
import { applySources, fillSchedule, scheduleManual, type SourceInput } from '../../db/archive.js';
import { claimNext, recordResult, requeue, requeueBehind, unclaim } from '../../db/queue.js';
import { openDb } from '../../db/index.js';

const NOW = new Date('2026-06-01T00:00:00.000Z');
const daysAgo = (d: number): string => new Date(NOW.getTime() - d * 86400_000).toISOString();

function entry(name: string, version = '1.0', architecture = 'any'): SourceInput {
  return { name, version, architecture, directory: `pool/main/${name[0]}/${name}`, dscName: `${name}_${version}.dsc`, dscSha256: 'a'.repeat(64), dscSize: 1 };
}

function farm() {
  const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-sched-')), 'r.db'));
  const names = ['unt1', 'unt2', 'new1', 'fail1', 'fail2', 'old1', 'recent'];
  applySources(db, 'sid', ['amd64'], new Map(names.map((n) => [n, entry(n)])), {
    now: NOW,
    blacklist: new Set(),
    policy: { maxPerArch: 0, minAgeDays: 30, retryFailedDays: 3 },
    appliesTo,
  });
  const res = db.sql.prepare("INSERT INTO results (suite, arch, package, version, status, build_date) VALUES ('sid', 'amd64', ?, ?, ?, ?)");
  res.run('new1', '0.9', 'reproducible', daysAgo(1));
  res.run('fail1', '1.0', 'FTBFS', daysAgo(10));
  res.run('fail2', '1.0', 'depwait', daysAgo(1));
  res.run('old1', '1.0', 'FTBR', daysAgo(60));
  res.run('recent', '1.0', 'reproducible', daysAgo(1));
  return db;
}

describe('schedule policy', () => {
  it('fills in policy order: never tested, new versions, old FTBFS/depwait, oldest results; up to the maximum', () => {
    const db = farm();
    const policy = { maxPerArch: 100, minAgeDays: 30, retryFailedDays: 3 };
    const got = db.sql.transaction(() => fillSchedule(db, 'sid', 'amd64', policy, NOW))();
    expect(got).toEqual({ untested: 2, newVersion: 1, retryFailed: 1, old: 1 });
    expect(db.sql.prepare('SELECT package, priority, reason FROM schedule ORDER BY priority DESC, package').all()).toEqual([
      { package: 'unt1', priority: 40, reason: 'never tested' },
      { package: 'unt2', priority: 40, reason: 'never tested' },
      { package: 'new1', priority: 30, reason: 'new version' },
      { package: 'fail1', priority: 20, reason: 'retry FTBFS/depwait' },
      { package: 'old1', priority: 10, reason: 'oldest result' },
    ]);
    // full: nothing more
    expect(db.sql.transaction(() => fillSchedule(db, 'sid', 'amd64', policy, NOW))()).toEqual({ untested: 0, newVersion: 0, retryFailed: 0, old: 0 });
  });

  it('stops at the maximum, taking the earlier tiers first', () => {
    const db = farm();
    const got = db.sql.transaction(() => fillSchedule(db, 'sid', 'amd64', { maxPerArch: 3, minAgeDays: 30, retryFailedDays: 3 }, NOW))();
    expect(got).toEqual({ untested: 2, newVersion: 1, retryFailed: 0, old: 0 });
  });

  it('claims manual requests first, then by priority and age; unclaim puts it back; a result ends the claim', () => {
    const db = farm();
    db.sql.transaction(() => fillSchedule(db, 'sid', 'amd64', { maxPerArch: 100, minAgeDays: 30, retryFailedDays: 3 }, NOW))();
    scheduleManual(db, [{ suite: 'sid', arch: 'amd64', package: 'recent' }], { priority: 100, by: 'tester', now: NOW, dailyLimit: 10 });
    const c1 = claimNext(db, 'amd64', 'job1', NOW)!;
    expect(c1).toMatchObject({ package: 'recent', priority: 100, reason: 'manual request', claimed_by: 'job1' });
    const c2 = claimNext(db, 'amd64', 'job2', NOW)!;
    expect(c2.package).toBe('unt1');
    expect(unclaim(db, c2.id, 'job1')).toBe(false);
    expect(unclaim(db, c2.id, 'job2')).toBe(true);
    expect(claimNext(db, 'amd64', 'job3', NOW)!.package).toBe('unt1');
    recordResult(db, c1, 'reproducible', NOW);
    expect(() => recordResult(db, c1, 'reproducible', NOW)).toThrow(/no longer held by job1/);
    expect(db.sql.prepare("SELECT status FROM results WHERE package = 'recent'").get()).toEqual({ status: 'reproducible' });
    expect(claimNext(db, 'arm64', 'job4', NOW)).toBeUndefined();
  });

  it('a failed build given back waits behind its priority class; an interrupted one keeps its place', () => {
    const db = farm();
    db.sql.transaction(() => fillSchedule(db, 'sid', 'amd64', { maxPerArch: 100, minAgeDays: 30, retryFailedDays: 3 }, NOW))();
    const first = claimNext(db, 'amd64', 'job1', NOW)!;
    expect(first.package).toBe('unt1');
    // interrupted (SIGTERM, cleanup): the same entry comes next again
    requeue(db, [first.id]);
    expect(claimNext(db, 'amd64', 'job1', NOW)!.package).toBe('unt1');
    // failed (a node unusable, results rejected): the other never-tested package goes first, then it again
    const later = new Date(NOW.getTime() + 1000);
    expect(requeueBehind(db, first.id, later)).toBe(true);
    expect(claimNext(db, 'amd64', 'job1', later)!.package).toBe('unt2');
    expect(claimNext(db, 'amd64', 'job1', later)!.package).toBe('unt1');
    // still ahead of the lower priorities
    expect(db.sql.prepare("SELECT priority FROM schedule WHERE package = 'unt1'").get()).toEqual({ priority: 40 });
  });

  it('marks packages not for the architecture NFU and blacklisted ones, and lifts both when they apply again', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-sched-')), 'r.db'));
    const policy = { maxPerArch: 100, minAgeDays: 30, retryFailedDays: 3 };
    const run = (entries: SourceInput[], blacklist: string[]) =>
      applySources(db, 'sid', ['amd64', 'arm64'], new Map(entries.map((e) => [e.name, e])), { now: NOW, blacklist: new Set(blacklist), policy, appliesTo });
    const s = run([entry('armonly', '1.0', 'arm64'), entry('bad'), entry('ok')], ['bad']);
    expect(s.arches.map((a) => [a.arch, a.nfu, a.blacklisted])).toEqual([
      ['amd64', 1, 1],
      ['arm64', 0, 1],
    ]);
    expect(db.sql.prepare('SELECT arch, package FROM schedule ORDER BY arch, package').all()).toEqual([
      { arch: 'amd64', package: 'ok' },
      { arch: 'arm64', package: 'armonly' },
      { arch: 'arm64', package: 'ok' },
    ]);
    run([entry('armonly', '1.1', 'any'), entry('bad'), entry('ok')], []);
    expect(db.sql.prepare("SELECT COUNT(*) AS n FROM results WHERE status IN ('NFU', 'blacklisted')").get()).toEqual({ n: 0 });
    expect(db.sql.prepare("SELECT COUNT(*) AS n FROM schedule WHERE package IN ('armonly', 'bad')").get()).toEqual({ n: 4 });
  });
});
