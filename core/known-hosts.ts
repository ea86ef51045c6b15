/**
 * known_hosts lookup as OpenSSH does it: plain and hashed (`|1|salt|hash`) host
 * patterns, `[host]:port` for non-standard ports, wildcards and negation,
 * `@revoked` keys. `@cert-authority` lines are ignored (host certificates are not
 * supported), so such a host is "unknown" rather than trusted by mistake.
 */
import { createHash, createHmac } from 'node:crypto';

export interface KnownKey {
  type: string;
  blob: Buffer;
  line: number;
}

export interface KnownHostsMatch {
  keys: KnownKey[];
  revoked: KnownKey[];
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

type Matcher = (names: readonly string[]) => boolean | 'negated';

function compilePattern(pat: string): Matcher {
  if (pat.startsWith('|')) {
    const parts = pat.split('|');
    if (parts.length !== 4 || parts[1] !== '1') return () => false;
    const salt = Buffer.from(parts[2] ?? '', 'base64');
    const want = parts[3] ?? '';
    return (names) => names.some((n) => createHmac('sha1', salt).update(n).digest('base64') === want);
  }
  const negated = pat.startsWith('!');
  const p = (negated ? pat.slice(1) : pat).toLowerCase();
  let test: (n: string) => boolean;
  if (/[*?]/.test(p)) {
    const re = new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    test = (n) => re.test(n.toLowerCase());
  } else {
    test = (n) => n.toLowerCase() === p;
  }
  return (names) => (names.some(test) ? (negated ? 'negated' : true) : false);
}

interface Entry {
  marker: string | undefined;
  matchers: Matcher[];
  key: KnownKey;
}

/** A parsed known_hosts file: parse once, look up many hosts. */
export class KnownHosts {
  private readonly entries: Entry[] = [];
  constructor(text: string) {
    text.split('\n').forEach((rawLine, i) => {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split(/\s+/);
      let marker: string | undefined;
      if (fields[0]?.startsWith('@')) marker = fields.shift();
      const [patterns, type, b64] = fields;
      if (!patterns || !type || !b64) return;
      // host certificates are not supported: such a host stays "unknown" rather than trusted by mistake
      if (marker === '@cert-authority') return;
      if (marker !== undefined && marker !== '@revoked') return;
      this.entries.push({ marker, matchers: patterns.split(',').map(compilePattern), key: { type, blob: Buffer.from(b64, 'base64'), line: i + 1 } });
    });
  }

  lookup(host: string, port: number): KnownHostsMatch {
    const names = [knownHostsName(host, port)];
    const out: KnownHostsMatch = { keys: [], revoked: [] };
    for (const e of this.entries) {
      let matched = false;
      for (const m of e.matchers) {
        const r = m(names);
        if (r === 'negated') {
          matched = false;
          break;
        }
        if (r) matched = true;
      }
      if (!matched) continue;
      if (e.marker === '@revoked') out.revoked.push(e.key);
      else out.keys.push(e.key);
    }
    return out;
  }
}

/** The keys known_hosts text holds for host:port. */
export function lookupKnownHosts(text: string, host: string, port: number): KnownHostsMatch {
  return new KnownHosts(text).lookup(host, port);
}

/** OpenSSH's SHA256 fingerprint of a public key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (string length + name). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** ssh2 host key algorithm names for the key types known_hosts holds, in a stable preference order. */
export function hostKeyAlgorithms(types: Iterable<string>): string[] {
  const order: Record<string, string[]> = {
    'ssh-ed25519': ['ssh-ed25519'],
    'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
    'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
    'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
    'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  };
  const set = new Set(types);
  return Object.keys(order)
    .filter((t) => set.has(t))
    .flatMap((t) => order[t] ?? []);
}
