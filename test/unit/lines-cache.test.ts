/**
 * The lines cache (site/lines-cache.ts): entries a line each, sorted by key as
 * bytes; read and spliced by binary search, the other lines copied as they
 * were; a file not as it was written is NotSpliceable.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LinesCache } from '../../site/lines-cache.js';
import { NotSpliceable } from '../../site/splice-lines.js';
import { SiteWriter } from '../../site/writer.js';

describe('LinesCache', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const make = (): { cache: LinesCache<{ n: number }>; file: string } => {
    root = mkdtempSync(join(tmpdir(), 'rf-lines-'));
    const file = join(root, 'people.jsonl');
    return { cache: new LinesCache<{ n: number }>(new SiteWriter(root), file), file };
  };

  it('writes entries sorted by their bytes, and reads the ones asked for', () => {
    const { cache, file } = make();
    // 'é' (0xc3 0xa9) sorts after 'z' as bytes; '"' and '\n' survive as JSON
    const at = cache.writeAll({ 'é@x': { n: 1 }, 'a@x': { n: 2 }, 'z"\n@x': { n: 3 } });
    expect(at.count).toBe(3);
    expect(
      readFileSync(file, 'utf8')
        .split('\n')
        .slice(0, 3)
        .map((l) => (JSON.parse(l) as [string])[0]),
    ).toEqual(['a@x', 'z"\n@x', 'é@x']);
    expect(cache.read(at, ['é@x', 'missing@x', 'z"\n@x'])).toEqual({ 'é@x': { n: 1 }, 'z"\n@x': { n: 3 } });
    expect(cache.readAll(at)).toEqual({ 'a@x': { n: 2 }, 'z"\n@x': { n: 3 }, 'é@x': { n: 1 } });
  });

  it('splices changed, new and removed entries, copying the other lines as they were', () => {
    const { cache, file } = make();
    const keys = Array.from({ length: 500 }, (_, i) => `p${String(i).padStart(4, '0')}@x`);
    const at = cache.writeAll(Object.fromEntries(keys.map((k, i) => [k, { n: i }])));
    // a byte of an untouched line changed, the size kept: a splice copies it, a rewrite would not
    writeFileSync(file, readFileSync(file, 'utf8').replace('["p0007@x",{"n":7}]', '["p0007@x",{"n":8}]'));
    const next = cache.splice(
      at,
      new Map([
        ['p0100@x', { n: -1 }],
        ['p0200@x', undefined],
        ['new@x', { n: 9 }],
      ]),
    );
    expect(next.count).toBe(500);
    const all = cache.readAll(next);
    expect(all['p0007@x']).toEqual({ n: 8 });
    expect(all['p0100@x']).toEqual({ n: -1 });
    expect(all['p0200@x']).toBeUndefined();
    expect(all['new@x']).toEqual({ n: 9 });
    expect(Object.keys(all)).toHaveLength(500);
    // nothing changed: the file is not written again
    expect(cache.splice(next, new Map([['new@x', { n: 9 }]]))).toBe(next);
  });

  it('is NotSpliceable when the file is missing, of another size, or has a line it did not write', () => {
    const { cache, file } = make();
    const at = cache.writeAll({ 'a@x': { n: 1 }, 'b@x': { n: 2 } });
    expect(() => cache.read({ ...at, size: at.size + 1 }, ['a@x'])).toThrow(NotSpliceable);
    writeFileSync(file, readFileSync(file, 'utf8').replace('["a@x",{"n":1}]', '{"a@x":{"n":1}}'));
    expect(() => cache.read(at, ['a@x'])).toThrow(NotSpliceable);
    rmSync(file);
    expect(() => cache.splice(at, new Map([['a@x', { n: 3 }]]))).toThrow(NotSpliceable);
  });
});
