/** Quote one word for a POSIX shell: the result is always a single literal word. */
export function shQuote(word: string): string {
  if (word.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one POSIX shell command line (what ssh sends to the remote shell). */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}
