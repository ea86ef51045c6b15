/** Culprit searches in the DB: started with an FTBR, claimed a step at a time, excluded against schedule claims, budgeted. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordBuild, type PairRecord } from '../../db/builds.js';
import { claimSearch, recordStep, restartSearch, searchOf, stepsOf, stepsToday, type SearchStart } from '../../db/culprits.js';
import { openDb, type FarmDb } from '../../db/index.js';
import { claimNext } from '../../db/queue.js';
import { newPlan } from '../../culprit/search.js';
import { scheduleSource } from '../harness/farm-data.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function tempDb(): FarmDb {
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-culprits-'));
  dirs.push(dir);
  return openDb(join(dir, 'reproducible.db'));
}

const at = '2026-12-01T10:00:00.000Z';

function schedule(db: FarmDb, pkg: string, version = '1'): void {
  scheduleSource(db, pkg, version, at);
}

function start(over: Partial<SearchStart> = {}): SearchStart {
  return {
    job: 'j',
    hints: [],
    categories: [],
    plan: JSON.stringify(newPlan(['DATE', 'TZ'])),
    reference: { artifacts: { 'x_1_amd64.deb': 'b'.repeat(64) }, buildDepends: null },
    ...over,
  };
}

function record(db: FarmDb, pkg: string, status: PairRecord['status'], culprit?: SearchStart): void {
  const claim = claimNext(db, 'amd64', 'j');
  if (!claim || claim.package !== pkg) throw new Error(`expected a claim of ${pkg}`);
  recordBuild(db, claim, { status, job: 'j', node1: 'n1', node2: 'n2', durationS: 1, reason: null, report: null, runs: [], ...(culprit ? { culprit } : {}) });
}

describe('culprit searches', () => {
  it('start with an FTBR, stay for the same version, start afresh for a new one, and end with another result', () => {
    const db = tempDb();
    schedule(db, 'x');
    record(db, 'x', 'FTBR', start());
    expect(searchOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toMatchObject({ version: '1', state: 'waiting', verdict: null, job: 'j' });
    // the same version FTBR again: the search keeps its state
    const c = claimSearch(db, 'j', 'amd64', { maxPerDay: 10 });
    expect(c?.dsc_sha256).toBe('a'.repeat(64));
    recordStep(db, c!, { kind: 'control', variations: '[]', node: 'n1', started_at: at, duration: 3, outcome: 'same', reason: null }, '{"p":1}', undefined);
    schedule(db, 'x');
    record(db, 'x', 'FTBR', start({ plan: '{}' }));
    expect(searchOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toMatchObject({ builds: 1, plan: '{"p":1}' });
    // a new version: afresh, its steps gone
    schedule(db, 'x', '2');
    record(db, 'x', 'FTBR', start({ verdict: { verdict: 'culprits', culprits: ['DATE'], source: 'hints', why: 'the diff shows DATE' } }));
    expect(searchOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toMatchObject({
      version: '2',
      state: 'done',
      verdict: 'culprits',
      source: 'hints',
      builds: 0,
    });
    expect(stepsOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toEqual([]);
    schedule(db, 'x', '2');
    record(db, 'x', 'reproducible');
    expect(searchOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toBeUndefined();
    db.close();
  });
  it('and schedule claims of the same package exclude each other; one claimer wins a step', () => {
    const db = tempDb();
    for (const p of ['x', 'y']) {
      schedule(db, p);
      record(db, p, 'FTBR', start());
    }
    schedule(db, 'x');
    const built = claimNext(db, 'amd64', 'j');
    expect(built?.package).toBe('x');
    // x is being built from the schedule: its search waits; y's is taken, once
    expect(claimSearch(db, 'j', 'amd64', { maxPerDay: 10 })?.package).toBe('y');
    expect(claimSearch(db, 'j', 'amd64', { maxPerDay: 10 })).toBeUndefined();
    // another job's searches are not this job's
    expect(claimSearch(db, 'other', 'amd64', { maxPerDay: 10 })).toBeUndefined();
    // and a schedule entry of y waits while y's step runs
    schedule(db, 'y');
    db.sql.prepare("UPDATE schedule SET claimed_by = NULL, claimed_at = NULL WHERE package = 'x'").run();
    expect(claimNext(db, 'amd64', 'j')?.package).toBe('x');
    expect(claimNext(db, 'amd64', 'j')).toBeUndefined();
    db.close();
  });
  it('keeps to the day budget, except for a search asked for by name; a restart drops the steps', () => {
    const db = tempDb();
    schedule(db, 'x');
    record(db, 'x', 'FTBR', start());
    const key = { suite: 'sid', arch: 'amd64', package: 'x' };
    const c = claimSearch(db, 'j', 'amd64', { maxPerDay: 1 });
    recordStep(
      db,
      c!,
      { kind: 'control', variations: '[]', node: 'n1', started_at: new Date().toISOString(), duration: 3, outcome: 'same', reason: null },
      c!.plan,
      undefined,
    );
    expect(stepsToday(db)).toBe(1);
    expect(claimSearch(db, 'j', 'amd64', { maxPerDay: 1 })).toBeUndefined();
    expect(claimSearch(db, 'j', 'amd64', { maxPerDay: 1, key })?.package).toBe('x');
    expect(restartSearch(db, key, '{}')).toBe(false);
    db.sql.prepare('UPDATE culprit_searches SET claimed_at = NULL, claimed_by = NULL').run();
    expect(restartSearch(db, key, '{}')).toBe(true);
    expect(stepsOf(db, key)).toEqual([]);
    expect(searchOf(db, key)).toMatchObject({ builds: 0, state: 'waiting', plan: '{}' });
    db.close();
  });
  it('records a verdict with its step, and ends the claim', () => {
    const db = tempDb();
    schedule(db, 'x');
    record(db, 'x', 'FTBR', start());
    const c = claimSearch(db, 'j', 'amd64', { maxPerDay: 10 })!;
    recordStep(db, c, { kind: 'half', variations: '["TZ"]', node: 'n1', started_at: at, duration: 3, outcome: 'differs', reason: 'x' }, '{}', {
      verdict: 'culprits',
      culprits: ['TZ'],
      why: 'each enough on its own: TZ',
    });
    expect(searchOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toMatchObject({
      state: 'done',
      verdict: 'culprits',
      culprits: '["TZ"]',
      source: 'search',
      claimed_by: null,
    });
    expect(stepsOf(db, { suite: 'sid', arch: 'amd64', package: 'x' })).toMatchObject([{ step: 1, kind: 'half', outcome: 'differs' }]);
    db.close();
  });
});
