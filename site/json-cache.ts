/**
 * The small JSON files a render keeps for the next one under
 * `<site_dir>/.reprofarm/` (what it rendered, and what it can skip next
 * time). They are a cache: a file that is missing, does not parse, or is not
 * what `accept` expects reads as absent, and the render then does that work
 * again rather than fail. Written atomically (beside, then renamed).
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../core/atomic.js';

export class JsonCache<T extends object> {
  /**
   * `accept`: whether what was read is a `T` this code can use (a file from
   * an older layout is not); `newline`: end the file with one.
   */
  constructor(
    readonly file: string,
    private readonly accept: (v: Partial<T>) => boolean = () => true,
    private readonly opts: { newline?: boolean } = {},
  ) {}

  read(): T | undefined {
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    return this.accept(v) ? (v as T) : undefined;
  }

  /** The folder must exist. */
  write(value: T): void {
    writeFileAtomicSync(this.file, `${JSON.stringify(value)}${this.opts.newline ? '\n' : ''}`);
  }
}
