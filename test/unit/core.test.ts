import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { writeFileAtomic } from '../../core/atomic.js';
import { formatError, ReprofarmError } from '../../core/errors.js';
import { shJoin, shQuote } from '../../core/shell.js';
import { openDb } from '../../db/index.js';
import { MIGRATIONS } from '../../db/migrations.js';
import { Reporter, termSafe } from '../../cli/output.js';
import { nodeWords } from '../../core/errors.js';

describe('shell quoting', () => {
  it('turns any argv into literal words for sh', () => {
    const argv = ['printf', '%s\\n', "it's", '$(id)', '`id`', 'a b', '', '*', '\n', 'ü'];
    const out = execFileSync('sh', ['-c', shJoin(argv)], { encoding: 'utf8' });
    expect(out).toBe(
      argv
        .slice(2)
        .map((a) => `${a}\n`)
        .join(''),
    );
    expect(shQuote('plain/path-1.0')).toBe('plain/path-1.0');
    expect(() => shQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('atomic writes', () => {
  it('replaces a file whole and leaves no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-atomic-'));
    const f = join(dir, 'sub', 'file');
    await writeFileAtomic(f, 'one');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(f, `value ${i}\n`.repeat(1000))));
    expect(readFileSync(f, 'utf8')).toMatch(/^(value (\d+)\n)\1{999}$/);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['file']);
  });
});

describe('errors', () => {
  it('prints the cause chain as a numbered list, then the advice', () => {
    const err = new ReprofarmError('cannot open database x', { cause: new Error('disk full', { cause: 'EIO' }), advice: 'free some space' });
    expect(formatError(err)).toBe('error: cannot open database x\ncaused by:\n  1. disk full\n  2. EIO\nhint: free some space');
  });
});

describe('database', () => {
  it('applies migrations once, in WAL mode, and refuses a newer schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-db-'));
    const file = join(dir, 'state', 'reproducible.db');
    const db = openDb(file);
    expect(db.schemaVersion()).toBe(MIGRATIONS.length);
    expect(db.sql.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const again = openDb(file);
    expect(again.sql.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
    again.sql.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 'x')").run();
    again.close();
    expect(() => openDb(file)).toThrow(/schema version 999, newer than this reprofarm knows/);
  });

  it('records collections in one transaction and finds the newest good facts', () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-db-')), 'r.db'));
    const base = { durationMs: 5, reason: null, errorKind: null, clockOffsetS: 0.5, arch: 'amd64' };
    db.recordCollections([
      {
        ...base,
        node: 'n1',
        startedAt: '2026-01-01T00:00:00.000Z',
        ok: true,
        health: 'ok',
        facts: [
          ['ARCH', 'amd64'],
          ['TZ', 'unset'],
        ],
      },
      {
        ...base,
        node: 'n1',
        startedAt: '2026-01-02T00:00:00.000Z',
        ok: false,
        health: 'unreachable',
        reason: 'refused',
        errorKind: 'refused',
        clockOffsetS: null,
        arch: null,
        facts: null,
      },
    ]);
    expect(db.latestFacts('n1')).toEqual(
      new Map([
        ['ARCH', 'amd64'],
        ['TZ', 'unset'],
      ]),
    );
    expect(db.node('n1')).toMatchObject({
      health: 'unreachable',
      health_reason: 'refused',
      last_collected_at: '2026-01-01T00:00:00.000Z',
      clock_offset_s: 0.5,
      arch: 'amd64',
    });
    expect(db.pruneCollections('2026-01-01T12:00:00.000Z')).toBe(1);
    expect(db.sql.prepare('SELECT COUNT(*) AS n FROM facts').get()).toEqual({ n: 0 });
    // a failing insert rolls back the whole run
    expect(() =>
      db.recordCollections([
        { ...base, node: 'n2', startedAt: 'x', ok: true, health: 'ok', facts: [['A', '1']] },
        { ...base, node: 'n3', startedAt: 'x', ok: true, health: 'bogus' as 'ok', facts: null },
      ]),
    ).toThrow();
    expect(db.node('n2')).toBeUndefined();
    db.close();
  });
});

describe('terminal output', () => {
  it('draws a progress bar only on a terminal, and keeps escape sequences out', () => {
    const err = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
    const out = new PassThrough();
    let text = '';
    err.on('data', (d: Buffer) => (text += d.toString()));
    const rep = new Reporter(err, out, 'normal');
    rep.bar(1, 4, 'n1');
    rep.line('done');
    // eslint-disable-next-line no-control-regex
    expect(text).toMatch(/^\r\[#+\.+\] 1\/4 n1\x1b\[K\r\x1b\[Kdone\n$/);
    const plain = Object.assign(new PassThrough(), { isTTY: false });
    let plainText = '';
    plain.on('data', (d: Buffer) => (plainText += d.toString()));
    new Reporter(plain, out, 'normal').bar(1, 4, 'n1');
    expect(plainText).toBe('');
    expect(termSafe('a\x1b[31mb\x07c\nd')).toBe('a?[31mb?c\nd');
    // bidi overrides and isolates, and the Unicode line separators, could reorder or split what a line shows
    expect(termSafe('node \u202eevil\u202c \u2066x\u2069\u2028y')).toBe('node ?evil? ?x??y');
    // a node's words inside a message of ours stay on one line
    expect(nodeWords('dpkg: error\n\nquick-a 1.0: reproducible in 1 s\r\n  more')).toBe('dpkg: error | quick-a 1.0: reproducible in 1 s | more');
  });
});
