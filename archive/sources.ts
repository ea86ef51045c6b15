/**
 * A suite's Sources index: the compressed variant the Release file lists
 * (xz, else gz, else plain), read and checked against the SHA256 and size
 * the Release file lists, then streamed through the decompressor and the
 * deb822 parser, never held as one string. Every stage is bounded: the file
 * by its listed size, the decompressed text by a multiple of it, lines and
 * stanzas by a size each, the problems kept by a count. Every stanza is
 * validated: a source whose name, version or paths are not what Debian
 * policy allows is reported with its line number and skipped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ReprofarmError } from '../core/errors.js';
import { Deb822LimitError, Deb822Parser, field, type Deb822Problem, type Stanza } from './deb822.js';
import { parseMaintainers } from './maintainers.js';
import { MirrorError, type Mirror } from './mirror.js';
import type { SourceInput } from '../db/archive.js';
import type { Release } from './release.js';
import { compareVersions, sourceNameProblem, versionProblem } from './version.js';

/** one source package as sync records it */
export type SourceEntry = SourceInput;

export interface SourcesIndex {
  entries: Map<string, SourceEntry>;
  /** the first MAX_PROBLEMS problems */
  problems: Deb822Problem[];
  /** how many problems there were in all */
  problemCount: number;
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
  return ` ${s}`.slice(1);
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
  if (!directory || !DIRECTORY_RE.test(directory) || directory.split('/').includes('..'))
    return `${name}: missing or bad Directory ${JSON.stringify((directory ?? '').slice(0, 60))}`;
  const want = `${name}_${version.replace(/^\d+:/, '')}.dsc`;
  for (const line of (field(st, 'Checksums-Sha256') ?? '').split('\n')) {
    const [sum, size, file] = line.trim().split(/\s+/);
    if (file === want && sum && /^[0-9a-f]{64}$/.test(sum) && size && /^\d+$/.test(size)) {
      return {
        name: own(name),
        version: own(version),
        architecture: own(architecture.trim().replace(/\s+/g, ' ')),
        directory: own(directory),
        dscName: want,
        dscSha256: own(sum),
        dscSize: Number(size),
      };
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
const KEEP = new Set(['package', 'version', 'architecture', 'directory', 'checksums-sha256', 'extra-source-only', 'maintainer', 'uploaders']);

/** at most this many problems are kept (the first ones); the rest are only counted */
export const MAX_PROBLEMS = 100;

/** xz may use this much memory to decompress (a file made with -9 needs 65 MiB); a file that needs more is refused */
const XZ_MEMLIMIT = '128MiB';

/** the sync section of the configuration: how large an index may become when read */
export interface SourcesLimits {
  /** the decompressed index may be at most this many times the compressed file's size */
  maxExpansion: number;
  maxLineBytes: number;
  maxStanzaBytes: number;
}

class ExpansionError extends ReprofarmError {
  override name = 'ExpansionError';
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes decompressed`, { advice: 'raise sync.max_expansion if the index is genuine' });
  }
}

const HOSTILE_ADVICE =
  "the index the signed Release file vouches for is not one Debian writes (a broken or hostile mirror): report it to the mirror's operator, or use another mirror";

/**
 * Read, check and parse dists/<suite>/main/source/Sources*. The file is read
 * first, at most the size its Release file lists, and its SHA256 checked:
 * nothing of it is decompressed or parsed unless it matches. Then it is
 * decompressed (at most limits.maxExpansion times its size) and parsed (lines
 * and stanzas at most limits.maxLineBytes and limits.maxStanzaBytes); past a
 * limit the whole index is refused.
 */
export async function readSources(mirror: Mirror, suite: string, release: Release, limits: SourcesLimits): Promise<SourcesIndex> {
  const { file, ...expected } = chooseSourcesFile(suite, release);
  const url = mirror.url(`dists/${suite}/${file}`);
  const input = await mirror.open(`dists/${suite}/${file}`);
  if (!input)
    throw new MirrorError(`${url} is listed in the Release file but missing`, { advice: 'the mirror is incomplete or being updated; try again later' });

  const compressed = await readListed(input, url, expected);
  const bytes = compressed.reduce((n, c) => n + c.length, 0);

  const entries = new Map<string, SourceEntry>();
  const problems: Deb822Problem[] = [];
  let problemCount = 0;
  const problem = (p: Deb822Problem): void => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  let stanzas = 0;
  const parser = new Deb822Parser(
    (st) => {
      stanzas++;
      if (field(st, 'Extra-Source-Only') === 'yes') return;
      const e = sourceEntry(st);
      if (typeof e === 'string') {
        problem({ line: st.line, message: e });
        return;
      }
      const people = parseMaintainers(field(st, 'Maintainer'), field(st, 'Uploaders'));
      for (const message of people.problems) problem({ line: st.line, message: `${e.name}: ${message}` });
      e.maintainers = people.people.map((p) => ({ email: own(p.email), name: own(p.name), role: p.role }));
      const prev = entries.get(e.name);
      if (!prev || compareVersions(e.version, prev.version) > 0) entries.set(e.name, e);
    },
    problem,
    KEEP,
    { maxLineBytes: limits.maxLineBytes, maxStanzaBytes: limits.maxStanzaBytes },
  );
  const compressedFile = file.endsWith('.xz') || file.endsWith('.gz');
  const maxOut = compressedFile ? Math.floor(limits.maxExpansion * bytes) : bytes;
  let out = 0;
  /** a limit the parse passed: the decompressor's own error after it was stopped (an abort) is only a consequence */
  let refused: Error | undefined;
  const sink = async (source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> => {
    try {
      for await (const chunk of source) {
        out += chunk.length;
        if (out > maxOut) throw new ExpansionError(maxOut);
        parser.push(chunk);
      }
    } catch (err) {
      if (err instanceof ExpansionError || err instanceof Deb822LimitError) refused = err;
      throw err;
    }
  };
  try {
    if (file.endsWith('.xz')) await decompressXz(compressed, sink);
    else if (file.endsWith('.gz')) await pipeline(Readable.from(compressed), createGunzip(), sink);
    else await sink(compressed);
    parser.end();
  } catch (thrown) {
    const err = refused ?? thrown;
    if (err instanceof Deb822LimitError) {
      const key = err.kind === 'line' ? 'sync.max_line_bytes' : 'sync.max_stanza_bytes';
      throw new MirrorError(`${url} ${err.message} (${key}): refused`, {
        advice: `${HOSTILE_ADVICE}; if the index is genuine, raise ${key}`,
      });
    }
    if (err instanceof ExpansionError) {
      throw new MirrorError(
        `${url} decompresses to more than ${err.limit} bytes, ${limits.maxExpansion} times its ${bytes} bytes (sync.max_expansion): refused after line ${parser.lineCount}`,
        {
          advice: `${HOSTILE_ADVICE} (a decompression bomb?); if the index is genuine, raise sync.max_expansion`,
        },
      );
    }
    throw new MirrorError(`${url} is corrupt or truncated: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
      advice: "its SHA256 matches the signed Release file, so the mirror publishes it so: report it to the mirror's operator, or use another mirror",
    });
  }
  return { entries, problems, problemCount, file, bytes, stanzas };
}

/**
 * The whole file, read while its SHA256 is computed, and checked against the
 * Release file: more bytes than it lists stop the transfer at once.
 */
async function readListed(input: Readable, url: string, expected: { sha256: string; size: number }): Promise<Buffer[]> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > expected.size) {
        throw new MirrorError(`${url} is larger than its Release file says: more than ${expected.size} bytes arrived; reading stopped there`, {
          advice: 'the mirror is inconsistent (mid-update, or tampered with); nothing was recorded; run sync again later',
        });
      }
      hash.update(chunk);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof MirrorError) throw err;
    throw new MirrorError(`cannot read ${url}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
      advice: 'the mirror may be mid-update or unreachable; run sync again later',
    });
  } finally {
    input.destroy();
  }
  const got = hash.digest('hex');
  if (got !== expected.sha256 || bytes !== expected.size) {
    throw new MirrorError(`${url} does not match its Release file: SHA256 ${got} (${bytes} bytes), expected ${expected.sha256} (${expected.size} bytes)`, {
      advice: 'the mirror is inconsistent (mid-update, or tampered with); nothing was recorded; run sync again later',
    });
  }
  return chunks;
}

async function decompressXz(compressed: readonly Buffer[], sink: (s: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  const xz = spawn('xz', ['-dc', '-T1', `--memlimit-decompress=${XZ_MEMLIMIT}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    xz.on('error', reject);
    xz.on('close', (code) => resolve(code));
  });
  const feed = pipeline(Readable.from(compressed), xz.stdin).catch((err: NodeJS.ErrnoException) => {
    // xz stops reading when its input is corrupt, or when it is stopped; its exit code tells why
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
  try {
    await Promise.all([feed, sink(xz.stdout)]);
  } catch (err) {
    // the sink refused more (a limit): stop xz, which may have gigabytes to go
    xz.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw err;
  }
  const code = await exited;
  if (code !== 0) {
    const memory = /memory usage limit/i.test(stderr)
      ? ` (sync lets xz use at most ${XZ_MEMLIMIT}: the file was compressed with a larger dictionary than xz -9 uses)`
      : '';
    throw new ReprofarmError(`xz: ${stderr.trim().replace(/\s*\n\s*/g, '; ') || `exit code ${code}`}${memory}`, {
      advice: 'the compressed index is corrupt or not xz: check the mirror',
    });
  }
}
