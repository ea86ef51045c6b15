/**
 * Fetching one build's results from its node into the main node's state_dir,
 * trusting nothing the node says: SHA256SUMS bounds and names the files; each
 * must be a regular file (a link could make us store another file as a .deb);
 * the small files we read whole (status, SHA256SUMS, .changes, .buildinfo)
 * are refused over build.max_metadata_kb and all files together over
 * build.max_result_mb, before anything is copied; every fetched file must
 * match SHA256SUMS; and nothing half-fetched stays.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { asDiskFull } from '../core/disk.js';
import { TransportError } from '../core/transport.js';
import { fileSha256 } from './compare.js';
import { NodeUnusable, ResultsRefused, type NodeLink } from './node-link.js';
import { parseSha256Sums } from './work-order.js';

export interface FetchLimits {
  /** all files together */
  maxBytes: number;
  /** each of the files read whole on the main node */
  maxMetadataBytes: number;
}

/** More files than any real package makes (each costs round trips): a package flooding its results is refused. */
export const MAX_RESULT_FILES = 5000;

/** Files fetched at once from one node: SFTP requests overlap, and a large artifact does not hold up the small ones. */
const FETCH_PARALLEL = 4;

/** The files the main node reads whole (into memory): they are bounded one by one. */
export function isMetadataFile(name: string): boolean {
  return name === 'status' || name === 'SHA256SUMS' || name.endsWith('.changes') || name.endsWith('.buildinfo');
}

/** SHA256SUMS as node-build.sh printed it, when it did (it names the status file); else undefined */
export function printedSums(stdout: Buffer): Array<{ sha256: string; name: string }> | undefined {
  const sums = parseSha256Sums(stdout.toString('utf8'));
  return typeof sums !== 'string' && sums.some((s) => s.name === 'status') ? sums : undefined;
}

/** SHA256SUMS read from the node, bounded: the node may have printed none (an older script, a cut-off output). */
async function readSums(
  link: NodeLink,
  remoteDir: string,
  limits: FetchLimits,
  onRetry: (w: string) => void,
): Promise<Array<{ sha256: string; name: string }>> {
  const node = link.node.name;
  const r = await link.retrying(
    'reading SHA256SUMS',
    (t) => t.exec(['cat', `${remoteDir}/SHA256SUMS`], { timeoutMs: 120_000, maxOutputBytes: limits.maxMetadataBytes }),
    onRetry,
  );
  if (r.truncated)
    throw new ResultsRefused(
      `SHA256SUMS on ${node} is larger than build.max_metadata_kb (${limits.maxMetadataBytes / 1024} KiB): not fetched`,
      'results-metadata',
    );
  if (r.code !== 0) throw new NodeUnusable(`reading ${remoteDir}/SHA256SUMS on ${node} failed (exit ${r.code ?? r.signal ?? 'timeout'})`);
  const parsed = parseSha256Sums(r.stdout.toString('utf8'));
  if (typeof parsed === 'string') throw new ResultsRefused(`${node}: ${parsed}`, 'results-sums');
  return parsed;
}

/** Each listed file's size, read without following links; refused unless every one is a regular file within the limits. */
async function checkEntries(
  link: NodeLink,
  remoteDir: string,
  sums: ReadonlyArray<{ name: string }>,
  limits: FetchLimits,
  onRetry: (w: string) => void,
): Promise<Map<string, number>> {
  const node = link.node.name;
  if (sums.length > MAX_RESULT_FILES)
    throw new ResultsRefused(`the results on ${node} are ${sums.length} files, more than ${MAX_RESULT_FILES}: not fetched`, 'results-count');
  // side by side: one round trip to the node, not one per file
  const entries = await Promise.all(
    sums.map(async ({ name }) => [name, await link.retrying(`reading the size of ${name}`, (t) => t.lstat(`${remoteDir}/${name}`), onRetry)] as const),
  );
  let total = 0;
  for (const [name, e] of entries) {
    if (e.kind !== 'file') {
      throw new ResultsRefused(
        `${name} in the results on ${node} is ${e.kind === 'symlink' ? 'a symbolic link' : `a ${e.kind}`}, not a regular file: not fetched`,
        'results-not-file',
      );
    }
    if (isMetadataFile(name) && e.size > limits.maxMetadataBytes) {
      throw new ResultsRefused(
        `${name} on ${node} is ${e.size} bytes, more than build.max_metadata_kb (${limits.maxMetadataBytes / 1024} KiB): not fetched`,
        'results-metadata',
      );
    }
    total += e.size;
  }
  if (total > limits.maxBytes) {
    throw new ResultsRefused(
      `the results on ${node} are ${total} bytes, more than build.max_result_mb (${limits.maxBytes / 1048576} MiB): not fetched`,
      'results-size',
    );
  }
  return new Map(entries.map(([name, e]) => [name, e.size]));
}

/**
 * Fetch a node's results into `dest` (replaced whole), checking every file against SHA256SUMS.
 * Returns each fetched file's SHA256, as computed here: what the comparison trusts.
 */
export async function fetchResults(
  link: NodeLink,
  remoteDir: string,
  dest: string,
  limits: FetchLimits,
  onRetry: (w: string) => void,
  printed?: Array<{ sha256: string; name: string }>,
): Promise<Map<string, string>> {
  const node = link.node.name;
  const sums = printed ?? (await readSums(link, remoteDir, limits, onRetry));
  if (!sums.some((s) => s.name === 'status')) throw new ResultsRefused(`${node}: SHA256SUMS in ${remoteDir} does not list the status file`, 'results-sums');
  const sizes = await checkEntries(link, remoteDir, sums, limits, onRetry);
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const fetched = new Map<string, string>();
  try {
    await mkdir(tmp, { recursive: true });
    const queue = [...sums];
    const generation = link.generation;
    const fetchOne = async (name: string): Promise<{ sha256: string; bytes: number }> => {
      await link.retrying(`fetching ${name}`, (t) => t.get(`${remoteDir}/${name}`, join(tmp, name)), onRetry);
      return fileSha256(join(tmp, name));
    };
    const one = async ({ sha256: want, name }: { sha256: string; name: string }): Promise<void> => {
      let got = await fetchOne(name);
      // a file fetched while the connection dropped and was made anew is fetched once more, whole, before the node is blamed
      if (got.sha256 !== want && link.generation !== generation) {
        onRetry(`fetching ${name} (it did not match SHA256SUMS after the connection dropped)`);
        got = await fetchOne(name);
      }
      if (got.bytes > (sizes.get(name) ?? 0))
        throw new ResultsRefused(
          `${name} on ${node} grew while it was fetched (${got.bytes} bytes, ${sizes.get(name) ?? 0} when its size was read)`,
          'results-changed',
        );
      if (got.sha256 !== want)
        throw new ResultsRefused(
          `${name} from ${node} does not match its SHA256SUMS (got ${got.sha256} over ${got.bytes} bytes, want ${want}): the transfer or the node altered it`,
          'results-changed',
        );
      fetched.set(name, got.sha256);
    };
    const lanes = Array.from({ length: Math.min(FETCH_PARALLEL, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await one(next);
    });
    // every lane ends before the temporary folder may go; the first failure is the one reported
    const settled = await Promise.allSettled(lanes);
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw refusedCopy(failed.reason, node);
    await rm(dest, { recursive: true, force: true });
    await mkdir(dirname(dest), { recursive: true });
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // a full disk names the results' place and what they needed (measured once the partial copy is gone)
    throw (
      asDiskFull(
        err,
        dest,
        [...sizes.values()].reduce((a, b) => a + b, 0),
      ) ?? err
    );
  }
  return fetched;
}

/** A local node's file that was not a regular file when it was opened (swapped after its lstat) is refused like one found so. */
function refusedCopy(err: unknown, node: string): unknown {
  if (err instanceof TransportError && err.kind === 'other' && /: it is (a symbolic link|not a regular file)$/.test(err.message)) {
    return new ResultsRefused(`${err.message} (results on ${node})`, 'results-not-file');
  }
  return err;
}
