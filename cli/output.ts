/** Human output on stderr (progress, summaries, errors); machine output (--json) on stdout. */
import type { Writable } from 'node:stream';
import { LINE_AND_BIDI_CONTROLS } from '../core/errors.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export class Reporter {
  private barShown = false;
  constructor(
    readonly err: Writable & { isTTY?: boolean; columns?: number },
    readonly out: Writable,
    readonly verbosity: Verbosity,
  ) {}

  get tty(): boolean {
    return this.err.isTTY === true;
  }

  /** A line for people; in quiet mode only when `important`. */
  line(text: string, important = false): void {
    if (this.verbosity === 'quiet' && !important) return;
    this.clearBar();
    this.err.write(`${text}\n`);
  }

  verbose(text: string): void {
    if (this.verbosity === 'verbose') this.line(text);
  }

  warn(text: string): void {
    this.clearBar();
    this.err.write(`warning: ${text}\n`);
  }

  /** A progress bar redrawn in place on a terminal; nothing otherwise. */
  bar(done: number, total: number, label: string): void {
    if (!this.tty || this.verbosity === 'quiet') return;
    const width = Math.max(10, Math.min(40, (this.err.columns ?? 80) - 40));
    const filled = total === 0 ? width : Math.round((done / total) * width);
    this.err.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${label}`.slice(0, (this.err.columns ?? 80) - 1) + '\x1b[K');
    this.barShown = true;
  }

  clearBar(): void {
    if (this.barShown) {
      this.err.write('\r\x1b[K');
      this.barShown = false;
    }
  }

  json(value: unknown): void {
    this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// controls but newline and tab, and the line separators and bidi controls (which could reorder what a line shows)
const TERM_UNSAFE_RE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${LINE_AND_BIDI_CONTROLS}]`, 'g');

/** Make untrusted text safe for a terminal: no escape sequences or control characters. */
export function termSafe(text: string): string {
  return text.replace(TERM_UNSAFE_RE, '?');
}
