/**
 * A cache of many small entries kept between renders as one line each, sorted
 * by key: `[key, value]` as JSON. An incremental render reads the entries it
 * needs by binary search (a few kilobytes, not the file) and splices the ones
 * it changed (splice-lines.ts), where one JSON object would be read, parsed,
 * stringified and written whole each time. The caller keeps the size and line
 * count the file was written with (in a small JsonCache); a file of another
 * size, or a line this code did not write, is NotSpliceable.
 */
import { closeSync } from 'node:fs';
import { relative } from 'node:path';
import { bytes, FileLines, locate, NotSpliceable, openAsWritten, spliceLines } from './splice-lines.js';
import type { SiteWriter } from './writer.js';

/** What the file was written with. */
export interface LinesFile {
  size: number;
  count: number;
}

function parse<T>(line: Buffer): [string, T] {
  try {
    const v = JSON.parse(line.toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') return v as [string, T];
  } catch {
    // below
  }
  throw new NotSpliceable('a cache line that does not parse');
}

const keyOf = (line: Buffer): string => bytes(parse(line)[0]);

const lineOf = (key: string, value: unknown): Buffer => Buffer.from(`${JSON.stringify([key, value])}\n`);

export class LinesCache<T> {
  constructor(
    private readonly writer: SiteWriter,
    /** absolute, under the writer's root */
    readonly file: string,
  ) {}

  /** Write every entry (a full render). */
  writeAll(entries: Readonly<Record<string, T>>): LinesFile {
    const keys = Object.keys(entries).sort((a, b) => (bytes(a) < bytes(b) ? -1 : 1));
    const f = this.writer.prepare(
      relative(this.writer.root, this.file),
      keys.map((k) => lineOf(k, entries[k])),
      { bookkeeping: true },
    );
    f.commit();
    return { size: f.size, count: keys.length };
  }

  /** The entries of `keys` that are there. */
  read(last: LinesFile, keys: Iterable<string>): Record<string, T> {
    return this.withLines(last, (src) => {
      const out: Record<string, T> = {};
      for (const k of keys) {
        const { at, end } = locate(src, bytes(k), keyOf);
        if (end > at) out[k] = parse<T>(src.bytes(at, end))[1];
      }
      return out;
    });
  }

  /** Every entry. */
  readAll(last: LinesFile): Record<string, T> {
    return this.withLines(last, (src) => {
      const out: Record<string, T> = {};
      for (let at = 0; at < src.length;) {
        const { nl } = src.lineAt(at);
        const [k, v] = parse<T>(src.bytes(at, nl));
        out[k] = v;
        at = nl + 1;
      }
      return out;
    });
  }

  /** Put in the entries of `changes` (undefined: take it out); the rest is copied as it was. */
  splice(last: LinesFile, changes: ReadonlyMap<string, T | undefined>): LinesFile {
    return this.withLines(last, (src) => {
      const lines = new Map<string, Buffer>();
      for (const [k, v] of changes) if (v !== undefined) lines.set(bytes(k), lineOf(k, v));
      const s = spliceLines(src, [...changes.keys()].map(bytes), lines, keyOf);
      if (!s.changed) return last;
      const f = this.writer.prepare(
        relative(this.writer.root, this.file),
        s.pieces.map((p) => (p instanceof Uint8Array ? p : { file: this.file, ...p })),
        { bookkeeping: true },
      );
      f.commit();
      return { size: f.size, count: last.count + s.delta };
    });
  }

  private withLines<R>(last: LinesFile, fn: (src: FileLines) => R): R {
    const fd = openAsWritten(this.file, last.size);
    try {
      return fn(new FileLines(fd, 0, last.size));
    } finally {
      closeSync(fd);
    }
  }
}
