/**
 * Streaming deb822 (Debian control file) parsing: stanzas separated by blank
 * lines, `Field: value`, continuation lines starting with a space or tab.
 * Input arrives in chunks of bytes (never as one whole-file string); the
 * parser is synchronous per chunk and linear in its input: lines are split on
 * the bytes, and a line that spans chunks is kept as a list of pieces, joined
 * once when it ends. A malformed stanza is reported with its line number and
 * skipped; parsing goes on. Optional limits on a line's and a stanza's size
 * (in bytes) bound its memory: past one, push() throws Deb822LimitError.
 */
import { ReprofarmError } from '../core/errors.js';
export interface Stanza {
  /** field names as written (case kept); look up with `field()` */
  fields: Map<string, string>;
  /** line number of the stanza's first line (1-based) */
  line: number;
}

export interface Deb822Problem {
  line: number;
  message: string;
}

/** Case-insensitive field lookup (deb822 field names are case-insensitive). */
export function field(s: Stanza, name: string): string | undefined {
  const direct = s.fields.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of s.fields) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const FIELD_NAME_RE = /^[\x21-\x39\x3b-\x7e]+$/;

export interface Deb822Limits {
  /** a longer line (without its newline) is an error; default: no limit */
  maxLineBytes?: number;
  /** a longer stanza (its lines up to the next blank line, newlines included) is an error; default: no limit */
  maxStanzaBytes?: number;
}

/** The input passed a limit: it is not a control file Debian writes, and parsing cannot go on. */
export class Deb822LimitError extends ReprofarmError {
  override name = 'Deb822LimitError';
  constructor(
    readonly kind: 'line' | 'stanza',
    /** the line being read when the limit was passed (1-based) */
    readonly line: number,
    /** the first line of the stanza (kind 'stanza') */
    readonly firstLine: number,
    readonly limit: number,
  ) {
    super(kind === 'line' ? `line ${line} is longer than ${limit} bytes` : `lines ${firstLine}-${line}: a stanza larger than ${limit} bytes`);
  }
}

export class Deb822Parser {
  /** the start of a line that has not ended yet, as copied pieces */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private fields = new Map<string, string>();
  private startLine = 0;
  /** first line of the current run of non-blank lines, and its size in bytes */
  private runLine = 0;
  private runBytes = 0;
  private lastKey: string | undefined;
  private bad: Deb822Problem | undefined;
  private n = 0;
  private readonly maxLine: number;
  private readonly maxStanza: number;

  private skipping = false;

  /** `keep`: lower-case names of the fields to keep (all when omitted); others are checked but not stored */
  constructor(
    private readonly onStanza: (s: Stanza) => void,
    private readonly onProblem: (p: Deb822Problem) => void = () => undefined,
    private readonly keep?: ReadonlySet<string>,
    limits: Deb822Limits = {},
  ) {
    this.maxLine = limits.maxLineBytes ?? Infinity;
    this.maxStanza = limits.maxStanzaBytes ?? Infinity;
  }

  /** Feed the next chunk of bytes (or text, for small inputs). */
  push(chunk: Uint8Array | string): void {
    const buf =
      typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const first = buf.indexOf(10);
    if (first === -1) {
      this.hold(buf);
      return;
    }
    let pos = 0;
    if (this.pendingBytes > 0) {
      const bytes = this.pendingBytes + first;
      this.check(bytes);
      this.pending.push(buf.subarray(0, first));
      const text = Buffer.concat(this.pending, bytes).toString('utf8');
      this.pending = [];
      this.pendingBytes = 0;
      this.line(text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text, bytes);
      pos = first + 1;
    }
    const last = buf.lastIndexOf(10);
    if (last >= pos) {
      // whole lines: one string for all of them; a line's size in bytes is its length in
      // characters when the text is ASCII, else the distance between newlines in the bytes
      const text = buf.toString('utf8', pos, last + 1);
      const ascii = text.length === last + 1 - pos;
      let start = 0;
      let bstart = pos;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        let bytes = nl - start;
        if (!ascii) {
          const bnl = buf.indexOf(10, bstart);
          bytes = bnl - bstart;
          bstart = bnl + 1;
        }
        this.check(bytes);
        this.line(text.charCodeAt(nl - 1) === 13 && nl > start ? text.slice(start, nl - 1) : text.slice(start, nl), bytes);
        start = nl + 1;
      }
    }
    if (last + 1 < buf.length) this.hold(buf.subarray(last + 1));
  }

  /** The input is complete. */
  end(): void {
    if (this.pendingBytes > 0) {
      const text = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
      const bytes = this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      this.line(text, bytes);
    }
    this.flush();
  }

  get lineCount(): number {
    return this.n;
  }

  /** keep the start of an unfinished line (a copy: the caller may reuse its buffer) */
  private hold(piece: Buffer): void {
    this.pendingBytes += piece.length;
    this.check(this.pendingBytes);
    this.pending.push(Buffer.from(piece));
  }

  /** the line being read (the next one) is `bytes` long so far */
  private check(bytes: number): void {
    if (bytes > this.maxLine) throw new Deb822LimitError('line', this.n + 1, this.n + 1, this.maxLine);
    if (this.runBytes + bytes > this.maxStanza) throw new Deb822LimitError('stanza', this.n + 1, this.runLine || this.n + 1, this.maxStanza);
  }

  private flush(): void {
    if (this.bad) this.onProblem(this.bad);
    else if (this.fields.size > 0) this.onStanza({ fields: this.fields, line: this.startLine });
    // a run of blank lines costs nothing: only a stanza's end makes a new map
    if (this.fields.size > 0) this.fields = new Map();
    this.startLine = 0;
    this.lastKey = undefined;
    this.skipping = false;
    this.bad = undefined;
  }

  private line(raw: string, bytes: number): void {
    const n = ++this.n;
    const line = n === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    const c = line.charCodeAt(0);
    if (line.length === 0 || ((c === 32 || c === 9) && line.trim() === '')) {
      this.runLine = 0;
      this.runBytes = 0;
      this.flush();
      return;
    }
    if (this.runLine === 0) this.runLine = n;
    this.runBytes += bytes + 1;
    if (c === 35 /* # comment */ && this.fields.size === 0 && !this.bad) return;
    if (this.startLine === 0 && !this.bad) this.startLine = n;
    if (this.bad) return;
    if (c === 32 || c === 9) {
      if (this.skipping) return;
      if (this.lastKey === undefined) {
        this.bad = { line: n, message: 'continuation line without a field before it; stanza skipped' };
        return;
      }
      this.fields.set(this.lastKey, `${this.fields.get(this.lastKey) ?? ''}\n${line.slice(1)}`);
      return;
    }
    if (c === 35 /* # */) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      this.bad = { line: n, message: `not a "Field: value" line: ${JSON.stringify(line.slice(0, 60))}; stanza skipped` };
      return;
    }
    const key = line.slice(0, colon);
    if (!FIELD_NAME_RE.test(key)) {
      this.bad = { line: n, message: `bad field name ${JSON.stringify(key.slice(0, 40))}; stanza skipped` };
      return;
    }
    if (this.keep && !this.keep.has(key.toLowerCase())) {
      this.skipping = true;
      this.lastKey = key;
      return;
    }
    this.skipping = false;
    if (this.fields.has(key)) {
      this.bad = { line: n, message: `field ${key} given twice; stanza skipped` };
      return;
    }
    this.fields.set(key, line.slice(colon + 1).trim());
    this.lastKey = key;
  }
}

/** Parse a whole small deb822 text (Release files, .dsc files). */
export function parseDeb822Text(text: string, onProblem?: (p: Deb822Problem) => void): Stanza[] {
  const out: Stanza[] = [];
  const p = new Deb822Parser((s) => out.push(s), onProblem);
  p.push(text);
  p.end();
  return out;
}
