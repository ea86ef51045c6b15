/**
 * Streaming deb822 (Debian control file) parsing: stanzas separated by blank
 * lines, `Field: value`, continuation lines starting with a space or tab.
 * Input arrives in chunks (never as one whole-file string); the parser is
 * synchronous per chunk, so the per-line cost stays low on a 45 MB Sources
 * file. A malformed stanza is reported with its line number and skipped;
 * parsing goes on.
 */
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

export class Deb822Parser {
  private rest = '';
  private readonly decoder = new TextDecoder('utf-8');
  private fields = new Map<string, string>();
  private startLine = 0;
  private lastKey: string | undefined;
  private bad: Deb822Problem | undefined;
  private n = 0;

  private skipping = false;

  /** `keep`: lower-case names of the fields to keep (all when omitted); others are checked but not stored */
  constructor(
    private readonly onStanza: (s: Stanza) => void,
    private readonly onProblem: (p: Deb822Problem) => void = () => undefined,
    private readonly keep?: ReadonlySet<string>,
  ) {}

  /** Feed the next chunk of bytes or text. */
  push(chunk: Uint8Array | string): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  /** The input is complete. */
  end(): void {
    const last = this.rest + this.decoder.decode();
    this.rest = '';
    if (last !== '') this.line(last);
    this.flush();
  }

  get lineCount(): number {
    return this.n;
  }

  private flush(): void {
    if (this.bad) this.onProblem(this.bad);
    else if (this.fields.size > 0) this.onStanza({ fields: this.fields, line: this.startLine });
    this.startLine = 0;
    this.fields = new Map();
    this.lastKey = undefined;
    this.skipping = false;
    this.bad = undefined;
  }

  private line(line: string): void {
    const n = ++this.n;
    const c = line.charCodeAt(0);
    if (line.length === 0 || ((c === 32 || c === 9) && line.trim() === '')) {
      this.flush();
      return;
    }
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
