/**
 * The breakages caches (site/breakages-cache.ts): the counts stay exact past
 * the rows shown, an incremental update replaces only the rendered packages'
 * findings, and a suite/arch with nothing rendered is not touched.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pkgFinding, SHOWN_PER_CHECK, type Finding } from '../../site/breakages.js';
import { brokenSummary, updateBrokenCache } from '../../site/breakages-cache.js';
import { SiteWriter } from '../../site/writer.js';

const root = mkdtempSync(join(tmpdir(), 'rf-broken-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, '.reprofarm', 'json');
mkdirSync(dir, { recursive: true });
const where = { suite: 'bookworm', arch: 'amd64' };
const update = (full: boolean, rendered: string[], found: Map<string, Finding[]>, d = dir): void =>
  updateBrokenCache(new SiteWriter(join(d, '..', '..')), d, where, full, rendered, found);

const names = Array.from({ length: SHOWN_PER_CHECK + 50 }, (_, i) => `pkg${String(i).padStart(4, '0')}`);
const missingLogs = (n: string): Finding[] =>
  [1, 2].map((b) => pkgFinding('missing-log', { suite: 'bookworm', arch: 'amd64', package: n, version: '1.0-1' }, `build ${b} on n${b}: no build.log`));

describe('breakages caches', () => {
  it('counts every finding and keeps the first of each check', () => {
    update(true, names, new Map(names.map((n) => [n, missingLogs(n)])));
    const { findings, unlisted } = brokenSummary(dir, [{ suite: 'bookworm', arch: 'amd64' }]);
    expect(findings).toHaveLength(SHOWN_PER_CHECK);
    expect(findings[0]).toEqual(missingLogs('pkg0000')[0]);
    expect(findings.length + (unlisted.get('missing-log') ?? 0)).toBe(2 * names.length);
  });

  it('replaces only the rendered packages in an incremental update', () => {
    update(false, ['pkg0000', 'pkg0001'], new Map([['pkg0001', missingLogs('pkg0001').slice(1)]]));
    const { findings, unlisted } = brokenSummary(dir, [{ suite: 'bookworm', arch: 'amd64' }]);
    expect(findings[0]?.subject).toBe('pkg0001 1.0-1 bookworm/amd64');
    expect(findings[0]?.detail).toBe('build 2 on n2: no build.log');
    expect(findings.length + (unlisted.get('missing-log') ?? 0)).toBe(2 * names.length - 3);
  });

  it('splices many changes to the bytes and summary a whole write makes', () => {
    // after the first shown (only counts change), among them, a new check, lines removed and added
    const report = (n: string): Finding =>
      pkgFinding('missing-report', { ...where, package: n, version: '1.0-1' }, 'the diffoscope report it recorded is not there');
    const now = new Map(names.map((n) => [n, missingLogs(n)]));
    now.delete('pkg0000');
    now.set('pkg0001', missingLogs('pkg0001').slice(1));
    const changes: [string, Finding[] | undefined][] = [
      ['pkg0240', undefined],
      ['pkg0241', [report('pkg0241')]],
      ['pkg0005', undefined],
      ['pkg0007', [...missingLogs('pkg0007'), report('pkg0007')]],
      ['pkg9999', missingLogs('pkg9999')],
      ['a-first', [report('a-first')]],
    ];
    for (const [i, [n, f]] of changes.entries()) {
      if (f) now.set(n, f);
      else now.delete(n);
      update(false, [n], new Map(f ? [[n, f]] : []));
      const whole = join(root, `whole-${i}`, '.reprofarm', 'json');
      mkdirSync(whole, { recursive: true });
      update(true, [...now.keys()], now, whole);
      for (const file of ['bookworm_amd64.broken.jsonl', 'bookworm_amd64.broken-summary.json']) {
        expect(readFileSync(join(dir, file), 'utf8'), `${n}: ${file}`).toBe(readFileSync(join(whole, file), 'utf8'));
      }
    }
    const { findings, unlisted } = brokenSummary(dir, [where]);
    expect(findings.filter((f) => f.check === 'missing-report').map((f) => f.pkg?.name)).toEqual(['a-first', 'pkg0007', 'pkg0241']);
    expect(unlisted.get('missing-report')).toBe(0);
  });

  it('reads and writes nothing where nothing was rendered', () => {
    const file = join(dir, 'bookworm_amd64.broken.jsonl');
    const before = statSync(file).mtimeMs;
    update(false, [], new Map());
    expect(statSync(file).mtimeMs).toBe(before);
    expect(brokenSummary(dir, [{ suite: 'trixie', arch: 'amd64' }])).toEqual({ findings: [], unlisted: new Map() });
  });
});
