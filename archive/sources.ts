/**
 * A suite's Sources index: the compressed variant the Release file lists
 * (xz, else gz, else plain), streamed through a SHA256 check, the
 * decompressor and the deb822 parser, never held as one string. Every stanza
 * is validated: a source whose name, version or paths are not what Debian
 * policy allows is reported with its line number and skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Deb822Parser, field, type Deb822Problem, type Stanza } from './deb822.js';
import { MirrorError, type Mirror } from './mirror.js';
import type { SourceInput } from '../db/archive.js';
import type { Release } from './release.js';
import { compareVersions, sourceNameProblem, versionProblem } from './version.js';

/** one source package as sync records it */
export type SourceEntry = SourceInput;

export interface SourcesIndex {
  entries: Map<string, SourceEntry>;
  problems: Deb822Problem[];
  /** which file was read, relative to dists/<suite>/ */
  file: string;
  bytes: number;
  stanzas: number;
}

let xzAvailable: boolean | undefined;
function haveXz(): boolean {
  xzAvailable ??= spawnSync('xz', ['--version'], { stdio: 'ignore' }).status === 0;
  return xzAvailable;
}

const DIRECTORY_RE = /^[A-Za-z0-9][A-Za-z0-9+._/-]*$/;

/**
 * A copy of a string that does not keep its source alive: the parser's values
 * are slices of 64 KiB decompressed blocks, and keeping one name would keep
 * its whole block (85 MB for a Debian-size index).
 */
function own(s: string): string {
  return (` ${s}`).slice(1);
}

/** Validate one Sources stanza into an entry, or say why not. */
export function sourceEntry(st: Stanza): SourceEntry | string {
  const name = field(st, 'Package');
  const version = field(st, 'Version');
  const architecture = field(st, 'Architecture');
  const directory = field(st, 'Directory');
  if (name === undefined) return 'stanza without Package';
  const nameProblem = sourceNameProblem(name);
  if (nameProblem) return `source ${JSON.stringify(name.slice(0, 60))} refused: ${nameProblem}`;
  if (version === undefined) return `${name}: no Version`;
  const vp = versionProblem(version);
  if (vp) return `${name}: version ${JSON.stringify(version.slice(0, 60))} refused: ${vp}`;
  if (!architecture || !/^[a-z0-9 -]+$/.test(architecture)) return `${name}: missing or bad Architecture`;
  if (!directory || !DIRECTORY_RE.test(directory) || directory.split('/').includes('..')) return `${name}: missing or bad Directory ${JSON.stringify((directory ?? '').slice(0, 60))}`;
  const want = `${name}_${version.replace(/^\d+:/, '')}.dsc`;
  for (const line of (field(st, 'Checksums-Sha256') ?? '').split('\n')) {
    const [sum, size, file] = line.trim().split(/\s+/);
    if (file === want && sum && /^[0-9a-f]{64}$/.test(sum) && size && /^\d+$/.test(size)) {
      return { name: own(name), version: own(version), architecture: own(architecture.trim().replace(/\s+/g, ' ')), directory: own(directory), dscName: want, dscSha256: own(sum), dscSize: Number(size) };
    }
  }
  return `${name} ${version}: no Checksums-Sha256 line for ${want}`;
}

/** Which Sources variant to read: what the Release file lists, xz first (when xz is installed), then gz, then plain. */
export function chooseSourcesFile(suite: string, release: Release): { file: string; sha256: string; size: number } {
  const candidates = ['main/source/Sources.xz', 'main/source/Sources.gz', 'main/source/Sources'].filter(
    (f) => release.sha256.has(f) && (!f.endsWith('.xz') || haveXz()),
  );
  const file = candidates[0];
  if (!file) {
    throw new MirrorError(`dists/${suite}/${release.from} lists no main/source/Sources index with a SHA256 checksum`, {
      advice: 'the mirror must carry source indexes (deb-src); check that it is a full mirror',
    });
  }
  return { file, ...(release.sha256.get(file) as { sha256: string; size: number }) };
}

/** the only fields sync needs: others are checked for syntax but not kept */
const KEEP = new Set(['package', 'version', 'architecture', 'directory', 'checksums-sha256', 'extra-source-only']);

/** Read, check and parse dists/<suite>/main/source/Sources*. */
export async function readSources(mirror: Mirror, suite: string, release: Release): Promise<SourcesIndex> {
  const { file, ...expected } = chooseSourcesFile(suite, release);
  const url = mirror.url(`dists/${suite}/${file}`);
  const input = await mirror.open(`dists/${suite}/${file}`);
  if (!input) throw new MirrorError(`${url} is listed in the Release file but missing`, { advice: 'the mirror is incomplete or being updated; try again later' });

  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const entries = new Map<string, SourceEntry>();
  const problems: Deb822Problem[] = [];
  let stanzas = 0;
  const parser = new Deb822Parser(
    (st) => {
      stanzas++;
      if (field(st, 'Extra-Source-Only') === 'yes') return;
      const e = sourceEntry(st);
      if (typeof e === 'string') {
        problems.push({ line: st.line, message: e });
        return;
      }
      const prev = entries.get(e.name);
      if (!prev || compareVersions(e.version, prev.version) > 0) entries.set(e.name, e);
    },
    (p) => problems.push(p),
    KEEP,
  );
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) parser.push(chunk);
  };
  try {
    if (file.endsWith('.xz')) await decompressXz(input, tap, sink);
    else if (file.endsWith('.gz')) await pipeline(input, tap, createGunzip(), sink);
    else await pipeline(input, tap, sink);
    parser.end();
  } catch (err) {
    throw new MirrorError(`${url} is corrupt or truncated: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err, advice: 'the mirror may be mid-update; run sync again later',
    });
  }
  const got = hash.digest('hex');
  if (got !== expected.sha256 || bytes !== expected.size) {
    throw new MirrorError(`${url} does not match its Release file: SHA256 ${got} (${bytes} bytes), expected ${expected.sha256} (${expected.size} bytes)`, {
      advice: 'the mirror is inconsistent (mid-update, or tampered with); nothing was recorded; run sync again later',
    });
  }
  return { entries, problems, file, bytes, stanzas };
}

async function decompressXz(input: Readable, tap: Transform, sink: (s: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  const xz = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    xz.on('error', reject);
    xz.on('close', (code) => resolve(code));
  });
  const feed = pipeline(input, tap, xz.stdin).catch((err: NodeJS.ErrnoException) => {
    // xz stops reading when its input is corrupt; its exit code tells why
    if (err.code !== 'EPIPE') throw err;
  });
  await Promise.all([feed, sink(xz.stdout)]);
  const code = await exited;
  if (code !== 0) throw new Error(`xz: ${stderr.trim() || `exit code ${code}`}`);
}
