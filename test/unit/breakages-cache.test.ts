/**
 * The breakages caches (site/breakages-cache.ts): the counts stay exact past
 * the rows shown, an incremental update replaces only the rendered packages'
 * findings, and a suite/arch with nothing rendered is not touched.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pkgFinding, SHOWN_PER_CHECK, type Finding } from '../../site/breakages.js';
import { brokenSummary, updateBrokenCache } from '../../site/breakages-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'rf-broken-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = Array.from({ length: SHOWN_PER_CHECK + 50 }, (_, i) => `pkg${String(i).padStart(4, '0')}`);
const missingLogs = (n: string): Finding[] =>
  [1, 2].map((b) => pkgFinding('missing-log', { suite: 'bookworm', arch: 'amd64', package: n, version: '1.0-1' }, `build ${b} on n${b}: no build.log`));

describe('breakages caches', () => {
  it('counts every finding and keeps the first of each check', () => {
    updateBrokenCache(dir, 'bookworm', 'amd64', true, names, new Map(names.map((n) => [n, missingLogs(n)])));
    const { findings, unlisted } = brokenSummary(dir, [{ suite: 'bookworm', arch: 'amd64' }]);
    expect(findings).toHaveLength(SHOWN_PER_CHECK);
    expect(findings[0]).toEqual(missingLogs('pkg0000')[0]);
    expect(findings.length + (unlisted.get('missing-log') ?? 0)).toBe(2 * names.length);
  });

  it('replaces only the rendered packages in an incremental update', () => {
    updateBrokenCache(dir, 'bookworm', 'amd64', false, ['pkg0000', 'pkg0001'], new Map([['pkg0001', missingLogs('pkg0001').slice(1)]]));
    const { findings, unlisted } = brokenSummary(dir, [{ suite: 'bookworm', arch: 'amd64' }]);
    expect(findings[0]?.subject).toBe('pkg0001 1.0-1 bookworm/amd64');
    expect(findings[0]?.detail).toBe('build 2 on n2: no build.log');
    expect(findings.length + (unlisted.get('missing-log') ?? 0)).toBe(2 * names.length - 3);
  });

  it('reads and writes nothing where nothing was rendered', () => {
    const file = join(dir, 'bookworm_amd64.broken.json');
    const before = statSync(file).mtimeMs;
    updateBrokenCache(dir, 'bookworm', 'amd64', false, [], new Map());
    expect(statSync(file).mtimeMs).toBe(before);
    expect(brokenSummary(dir, [{ suite: 'trixie', arch: 'amd64' }])).toEqual({ findings: [], unlisted: new Map() });
  });
});
