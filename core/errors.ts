/**
 * Errors that reach users. Every error says what failed, where, and what to do
 * (`advice`). The CLI prints the cause chain as a numbered list.
 */
export class ReprofarmError extends Error {
  override name = 'ReprofarmError';
  readonly advice: string | undefined;
  constructor(message: string, options: { advice?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.advice = options.advice;
  }
}

/** Command-line misuse: exit code 64. */
export class UsageError extends ReprofarmError {
  override name = 'UsageError';
}

/**
 * A node name that the configuration does not list, given to a library call
 * (the CLI checks its arguments first, with a suggestion): misuse, like any
 * other usage error.
 */
export class UnknownNodeError extends UsageError {
  override name = 'UnknownNodeError';
  constructor(
    readonly node: string,
    configured: readonly string[],
  ) {
    super(`unknown node ${node}`, {
      advice: configured.length > 0 ? `configured nodes: ${configured.join(', ')}` : 'no nodes are configured: add them under nodes: in reprofarm.yaml',
    });
  }
}

/** Every problem found in a configuration file, all at once. */
export class ConfigError extends ReprofarmError {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`${source}: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` + problems.map((p) => `  - ${p}`).join('\n'), {
      advice: 'fix the keys named above; docs/configuration.md lists every key',
    });
    this.problems = problems;
  }
}

/** The messages of an error and its causes, outermost first. */
export function causeChain(err: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    if (cur instanceof Error) {
      out.push(cur.message);
      cur = cur.cause;
    } else {
      out.push(typeof cur === 'string' ? cur : (JSON.stringify(cur) ?? 'unknown error'));
      break;
    }
  }
  return out;
}

/** Human text for an error: the message, its causes as a numbered list, the advice. */
export function formatError(err: unknown): string {
  const chain = causeChain(err);
  const lines = [`error: ${chain[0] ?? 'unknown error'}`];
  if (chain.length > 1) {
    lines.push('caused by:');
    chain.slice(1).forEach((m, i) => lines.push(`  ${i + 1}. ${m}`));
  }
  const advice = err instanceof ReprofarmError ? err.advice : undefined;
  if (advice) lines.push(`hint: ${advice}`);
  return lines.join('\n');
}

/**
 * For a regex character class: the Unicode line and paragraph separators and the
 * bidi embedding, override and isolate controls. Untrusted text holding them can
 * break or reorder the line it is shown in (a terminal, the dashboard).
 */
export const LINE_AND_BIDI_CONTROLS = '\u2028\u2029\u202a-\u202e\u2066-\u2069';
const LINE_AND_BIDI_RE = new RegExp(`[${LINE_AND_BIDI_CONTROLS}]`, 'g');

/** A short, printable excerpt of untrusted text for a message: quoted, with every control escaped. */
export function excerpt(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // JSON escapes the C0 controls; the separators and bidi controls are escaped too
  return JSON.stringify(cut).replace(LINE_AND_BIDI_RE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a node printed, quoted into a message of ours: on one line, so that it cannot pass for lines of ours. */
export function nodeWords(text: string): string {
  return text.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' | ');
}
