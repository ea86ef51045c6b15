/** The problems a configuration has, each with its key path: the first MAX_CONFIG_ERRORS kept word for word, all counted. */
import { excerpt } from '../errors.js';
import { suggest } from '../suggest.js';
import { MAX_CONFIG_ERRORS } from './schema.js';
import type { Obj } from './types.js';

/** A key as part of a key path: as it is when short and printable, else quoted and cut. */
export function keyName(k: string): string {
  return /^[\x21-\x7e]{1,64}$/.test(k) ? k : excerpt(k, 64);
}

/** A value as a message names it: its type, and a short excerpt of a scalar. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${typeof v === 'string' ? excerpt(v) : JSON.stringify(v)}`;
}

/** The problems found so far: the first MAX_CONFIG_ERRORS kept, all counted. */
export class Problems {
  errors: string[] = [];
  total = 0;
  warnings: string[] = [];

  err(path: string, msg: string): void {
    this.total++;
    if (this.errors.length < MAX_CONFIG_ERRORS) this.errors.push(`${path}: ${msg}`);
  }

  /** No more errors are kept: only counted. */
  get full(): boolean {
    return this.errors.length >= MAX_CONFIG_ERRORS;
  }

  /** The errors kept, and a count of the rest. */
  reported(): string[] {
    return this.total > this.errors.length ? [...this.errors, `... and ${this.total - this.errors.length} more`] : this.errors;
  }

  unknownKeys(obj: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (known.includes(k)) continue;
      if (this.full) {
        this.total++;
        continue;
      }
      // no known key is long: a long one is no typo of one (and its edit distance would cost its length times theirs)
      const near = k.length <= 64 ? suggest(k, known) : undefined;
      this.err(path ? `${path}.${keyName(k)}` : keyName(k), `unknown key${near ? ` (did you mean "${near}"?)` : ''}; known keys here: ${known.join(', ')}`);
    }
  }
}
