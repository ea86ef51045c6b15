/** The chroot backend's bookkeeping: the CHROOTS fact, per-suite degradation, the chroots table and claims restricted to suites. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chrootSuites } from '../../builder/chroot-suites.js';
import { parseChrootsFact, parseFacts, REQUIRED_FACTS, splitChrootName } from '../../collector/facts.js';
import { judgeHealth, missingChroots } from '../../collector/health.js';
import { loadConfig } from '../../core/config.js';
import { applySources } from '../../db/archive.js';
import { nodeChroots, recordChroot, recordCollectionsWithChroots, replaceNodeChroots, suitesWithChroots } from '../../db/chroots.js';
import { openDb } from '../../db/index.js';
import { claimNext } from '../../db/queue.js';

const SUM = 'ab'.repeat(32);
const thresholds = { minFreeDiskMb: 1024, minFreeInodes: 10000, maxLoadPerCpu: 4 };
const good = REQUIRED_FACTS.map((k) => `${k}=${k === 'NUM_CPU' ? '2' : k === 'TERM' || k === 'COLUMNS' ? 'unset' : 'v'}`).join('\n') + '\n';

function tmpDb() {
  return openDb(join(mkdtempSync(join(tmpdir(), 'rf-chroots-')), 'r.db'));
}

describe('the CHROOTS fact', () => {
  it('lists SUITE-ARCH:CREATED:SIZE:SHA256 entries; unset or empty is none', () => {
    expect(parseChrootsFact(`bookworm-amd64:1700000000:123:${SUM} experimental-amd64:1700000001:5:${SUM}`)).toEqual({
      ok: true,
      entries: [
        { name: 'bookworm-amd64', created: 1700000000, size: 123, sha256: SUM },
        { name: 'experimental-amd64', created: 1700000001, size: 5, sha256: SUM },
      ],
    });
    expect(parseChrootsFact('unset')).toEqual({ ok: true, entries: [] });
    expect(parseChrootsFact('')).toEqual({ ok: true, entries: [] });
    expect(parseChrootsFact(undefined)).toEqual({ ok: true, entries: [] });
  });

  it.each([
    ['a short checksum', 'bookworm-amd64:1:2:abc'],
    ['no architecture', `bookworm:1:2:${SUM}`],
    ['a negative size', `bookworm-amd64:1:-2:${SUM}`],
    ['a date that is not seconds', `bookworm-amd64:2024-01-01:2:${SUM}`],
    ['two spaces', `bookworm-amd64:1:2:${SUM}  sid-amd64:1:2:${SUM}`],
    ['a path in the name', `../x-amd64:1:2:${SUM}`],
    ['upper case', `Bookworm-amd64:1:2:${SUM}`],
  ])('refuses %s', (_what, value) => {
    expect(parseChrootsFact(value).ok).toBe(false);
  });

  it('refuses a tarball listed twice', () => {
    expect(parseChrootsFact(`sid-amd64:1:2:${SUM} sid-amd64:3:4:${SUM}`)).toEqual({ ok: false, problem: 'lists sid-amd64 twice' });
  });

  it('is checked with the other facts: a bad one rejects the output, with its line', () => {
    const bad = parseFacts(Buffer.from(`${good}CHROOTS=sid-amd64:1:2:xyz\n`));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]).toMatch(new RegExp(`^line ${REQUIRED_FACTS.length + 1}: CHROOTS must be SUITE-ARCH:CREATED:SIZE:SHA256`));
    // many tarballs fit, past the usual value limit
    const many = Array.from({ length: 40 }, (_, i) => `suite${i}-amd64:1700000000:123456789:${SUM}`).join(' ');
    expect(many.length).toBeGreaterThan(1024);
    expect(parseFacts(Buffer.from(`${good}CHROOTS=${many}\n`)).ok).toBe(true);
  });

  it('splits a name at the longest known architecture, else at the last hyphen', () => {
    expect(splitChrootName('bookworm-backports-amd64', ['amd64'])).toEqual({ suite: 'bookworm-backports', arch: 'amd64' });
    expect(splitChrootName('sid-hurd-amd64', ['amd64', 'hurd-amd64'])).toEqual({ suite: 'sid', arch: 'hurd-amd64' });
    expect(splitChrootName('sid-arm64', ['amd64'])).toEqual({ suite: 'sid', arch: 'arm64' });
  });
});

describe('per-suite health', () => {
  const facts = new Map([
    ['WORKDIR_EXISTS', 'yes'],
    ['WORKDIR_WRITABLE', 'yes'],
    ['CHROOTS', `bookworm-amd64:1700000000:123:${SUM}`],
  ]);

  it('is degraded for each suite whose chroot the node lacks, and says how to make it', () => {
    expect(missingChroots(facts, { suites: ['bookworm', 'experimental'], arch: 'amd64' })).toEqual(['experimental']);
    expect(judgeHealth('n1', facts, thresholds, { suites: ['bookworm', 'experimental'], arch: 'amd64' })).toEqual({
      health: 'degraded',
      reasons: ['no chroot for experimental/amd64 (run reprofarm chroot update n1 --suite experimental)'],
    });
  });

  it('is ok with every chroot, and the plain backend needs none', () => {
    expect(judgeHealth('n1', facts, thresholds, { suites: ['bookworm'], arch: 'amd64' })).toEqual({ health: 'ok', reasons: [] });
    expect(judgeHealth('n1', new Map([['CHROOTS', 'unset']]), thresholds)).toEqual({ health: 'ok', reasons: [] });
    // another architecture's tarball is not this one
    expect(missingChroots(facts, { suites: ['bookworm'], arch: 'arm64' })).toEqual(['bookworm']);
  });
});

describe('the chroots table', () => {
  const c = (suite: string, created = '2026-01-01T00:00:00.000Z') => ({ suite, arch: 'amd64', created: new Date(created), size: 10, sha256: SUM });

  it('records, replaces and clears a node rows', () => {
    const db = tmpDb();
    const seen = new Date('2026-02-01T00:00:00.000Z');
    recordChroot(db, 'n1', c('bookworm'), seen);
    recordChroot(db, 'n1', c('bookworm', '2026-01-02T00:00:00.000Z'), seen);
    recordChroot(db, 'n2', c('sid'), seen);
    expect(nodeChroots(db, 'n1')).toEqual([
      { node: 'n1', suite: 'bookworm', arch: 'amd64', created: '2026-01-02T00:00:00.000Z', size: 10, sha256: SUM, seen_at: seen.toISOString() },
    ]);
    replaceNodeChroots(db, 'n1', [c('sid'), c('experimental')], seen);
    expect(nodeChroots(db, 'n1').map((r) => r.suite)).toEqual(['experimental', 'sid']);
    replaceNodeChroots(db, 'n1', [], seen);
    expect(nodeChroots(db, 'n1')).toEqual([]);
    expect(nodeChroots(db, 'n2')).toHaveLength(1);
  });

  it('follows a collection in its transaction: listed nodes get their list, others keep theirs', () => {
    const db = tmpDb();
    recordChroot(db, 'n1', c('bookworm'));
    recordChroot(db, 'n2', c('bookworm'));
    const rec = (node: string) => ({
      node,
      startedAt: '2026-02-01T00:00:00.000Z',
      durationMs: 1,
      ok: true,
      health: 'ok' as const,
      reason: null,
      errorKind: null,
      clockOffsetS: null,
      arch: 'amd64',
      facts: [] as Array<[string, string]>,
    });
    recordCollectionsWithChroots(db, [rec('n1'), rec('n2')], new Map([['n1', [c('sid')]]]));
    expect(nodeChroots(db, 'n1').map((r) => r.suite)).toEqual(['sid']);
    expect(nodeChroots(db, 'n2').map((r) => r.suite)).toEqual(['bookworm']);
    expect(db.node('n1')?.health).toBe('ok');
  });

  it('gives the suites both nodes of a pair have, and claims only from those', () => {
    const db = tmpDb();
    recordChroot(db, 'n1', c('bookworm'));
    recordChroot(db, 'n2', c('bookworm'));
    recordChroot(db, 'n1', c('experimental'));
    expect(suitesWithChroots(db, ['n1', 'n2'], 'amd64', ['bookworm', 'experimental', 'sid'])).toEqual(['bookworm']);
    const entry = (name: string) => ({ name, version: '1', architecture: 'any', directory: 'pool', dscName: `${name}_1.dsc`, dscSha256: SUM, dscSize: 1 });
    const opts = { now: new Date(), blacklist: new Set<string>(), policy: { maxPerArch: 10, minAgeDays: 30, retryFailedDays: 3 }, appliesTo: () => true };
    applySources(db, 'experimental', ['amd64'], new Map([['exp', entry('exp')]]), opts);
    applySources(db, 'bookworm', ['amd64'], new Map([['stable', entry('stable')]]), opts);
    // experimental's entry is waiting too, but the pair has no experimental chroot
    db.sql.prepare("UPDATE schedule SET priority = 100 WHERE suite = 'experimental'").run();
    expect(claimNext(db, 'amd64', 'j', new Date(), undefined, ['bookworm'])?.package).toBe('stable');
    expect(claimNext(db, 'amd64', 'j', new Date(), undefined, ['bookworm'])).toBeUndefined();
    expect(claimNext(db, 'amd64', 'j', new Date(), undefined, [])).toBeUndefined();
    expect(claimNext(db, 'amd64', 'j')?.package).toBe('exp');
  });

  it('restricts claims only with the chroot backend', () => {
    const db = tmpDb();
    recordChroot(db, 'local1', c('bookworm'));
    recordChroot(db, 'local2', c('bookworm'));
    const { config: plain } = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'rf-cfg-')) });
    expect(chrootSuites(db, plain, 'local1', 'local2', 'amd64')).toBeUndefined();
    const chroot = { ...plain, suites: ['bookworm', 'trixie'], build: { ...plain.build, backend: 'chroot' as const } };
    expect(chrootSuites(db, chroot, 'local1', 'local2', 'amd64')).toEqual(['bookworm']);
    expect(chrootSuites(db, chroot, 'local1', 'local3', 'amd64')).toEqual([]);
  });
});
