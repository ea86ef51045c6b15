import { ReprofarmError } from './errors.js';

/**
 * A word no shell command line can carry: the kernel passes arguments as
 * C strings, so a NUL byte would cut the word short there, silently.
 */
export class ShellWordError extends ReprofarmError {
  override name = 'ShellWordError';
  constructor() {
    super('a shell word cannot contain a NUL byte', {
      advice: 'remove the NUL byte from the value (a name, a path or a command in the configuration or on the command line)',
    });
  }
}

/** Quote one word for a POSIX shell: the result is always a single literal word. */
export function shQuote(word: string): string {
  if (word.includes('\0')) throw new ShellWordError();
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one POSIX shell command line (what ssh sends to the remote shell). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}
