/**
 * Debian source package names and versions: validation against Debian policy
 * (§5.6.1 Source, §5.6.12 Version) and dpkg's version comparison. Names and
 * versions become file names and shell words on nodes, so nothing else passes.
 */

/** Policy §5.6.1: lower case letters, digits, + - . ; at least two characters, starting alphanumeric. */
export const SOURCE_NAME_RE = /^[a-z0-9][a-z0-9+.-]{1,99}$/;

/** [epoch:]upstream_version[-debian_revision] with the characters policy allows. */
const VERSION_RE = /^(?:(\d{1,9}):)?([0-9][A-Za-z0-9.+~-]*?)(?:-([A-Za-z0-9.+~]+))?$/;

export function isValidSourceName(name: string): boolean {
  return SOURCE_NAME_RE.test(name);
}

export function isValidVersion(version: string): boolean {
  return version.length <= 128 && !version.endsWith('-') && VERSION_RE.test(version);
}

/** Why a name is refused, for messages; undefined when valid. */
export function sourceNameProblem(name: string): string | undefined {
  if (isValidSourceName(name)) return undefined;
  if (name.length < 2) return 'a source package name has at least two characters';
  if (/[/\\]|\.\./.test(name)) return 'it contains a path separator or ".."';
  if (/[^\x21-\x7e]/.test(name)) return 'it contains spaces or control characters';
  if (/[A-Z]/.test(name)) return 'source package names are lower case';
  return 'source package names use only a-z, 0-9, +, - and . and start with a letter or digit (Debian policy 5.6.1)';
}

export function versionProblem(version: string): string | undefined {
  if (isValidVersion(version)) return undefined;
  return 'not a Debian version ([epoch:]upstream[-revision], upstream starting with a digit; Debian policy 5.6.12)';
}

function order(c: string): number {
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (c === '') return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !/[0-9]/.test(a[i] as string)) || (j < b.length && !/[0-9]/.test(b[j] as string))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i] as string) ? (a[i] as string) : '');
      const bc = order(j < b.length && !/[0-9]/.test(b[j] as string) ? (b[j] as string) : '');
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i] as string) && j < b.length && /[0-9]/.test(b[j] as string)) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i] as string)) return 1;
    if (j < b.length && /[0-9]/.test(b[j] as string)) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function split(v: string): [number, string, string] {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash > 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** dpkg --compare-versions: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}
