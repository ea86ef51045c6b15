/**
 * `reprofarm chroot update`: make or refresh each node's chroot tarballs, one
 * per configured suite for the node's architecture, on the node itself, with
 * `node-build.sh chroot-update` (mmdebstrap; builder/node-chroot.sh), which
 * forced-command nodes allow. Nodes run at once (bounded), one mmdebstrap per
 * node at a time. A chroot that could not be made is a result, never an
 * exception: the others go on. Each tarball made or found up to date is
 * recorded in the `chroots` table.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import type { Config, NodeConfig } from '../core/config.js';
import { excerpt, nodeWords, ReprofarmError, UnknownNodeError } from '../core/errors.js';
import { SshFileCache } from '../core/ssh-transport.js';
import { TransportError } from '../core/transport.js';
import { recordChroot } from '../db/chroots.js';
import type { FarmDb } from '../db/index.js';
import { parseKeyValues } from '../collector/facts.js';
import { NodeLink } from './node-link.js';
import { runNodeScript } from './node-script.js';
import { nodeArch } from './orchestrator.js';

/** One tarball to make: SUITE's chroot, from BASE's packages (BASE is SUITE unless SUITE is an overlay). */
export interface ChrootTarget {
  suite: string;
  arch: string;
  base: string;
}

/** What to do on one node: its tarballs, or why it has none to make. */
export interface NodePlan {
  node: NodeConfig;
  arch: string | null;
  targets: ChrootTarget[];
  /** why the node has nothing to make; `failed`: that is a problem (its architecture is unknown) */
  skipped?: { why: string; failed: boolean };
}

export interface ChrootOutcome {
  node: string;
  suite: string;
  arch: string;
  base: string;
  result: 'made' | 'up-to-date' | 'failed';
  durationMs: number;
  /** ISO 8601 */
  created: string | null;
  size: number | null;
  sha256: string | null;
  error: string | null;
  /** the end of what mmdebstrap (or the node) printed, for a failure */
  output: string | null;
  /** another node with the same workdir made it */
  sameAs: string | null;
}

export type ChrootEvent = { type: 'chroot-start'; node: string; suite: string; arch: string } | { type: 'chroot-done'; outcome: ChrootOutcome };

export interface ChrootUpdateOptions {
  force: boolean;
  concurrency: number;
  timeoutS: number;
  onEvent?: (e: ChrootEvent) => void;
  signal?: AbortSignal;
}

/** The longest keyring sent to a node (Debian's archive keyring is well under 1 MiB). */
const MAX_KEYRING_BYTES = 4 * 1024 * 1024;
const OUTPUT_TAIL_LINES = 12;

/** chroot.mirror as nodes' mmdebstrap takes it: a path becomes a file:// URL. */
export function chrootMirrorUrl(mirror: string): string {
  return isAbsolute(mirror) ? pathToFileURL(mirror).href : mirror;
}

/** Which tarballs each node gets: the named nodes (else every node not offline), every configured suite (or `suite`), the node's architecture (if `arch`). */
export function planChroots(config: Config, db: FarmDb, names: readonly string[], only: { suite?: string; arch?: string } = {}): NodePlan[] {
  const nodes =
    names.length > 0
      ? [...new Set(names)].map((n) => {
          const node = config.nodes.get(n);
          if (!node) throw new UnknownNodeError(n, [...config.nodes.keys()]);
          return node;
        })
      : [...config.nodes.values()].filter((n) => !n.offline);
  const suites = only.suite ? [only.suite] : config.suites;
  const plans: NodePlan[] = [];
  for (const node of nodes) {
    const arch = nodeArch(db, node) ?? null;
    if (arch === null) {
      plans.push({
        node,
        arch,
        targets: [],
        skipped: { why: `its architecture is not known: set nodes.${node.name}.arch, or run reprofarm collect ${node.name}`, failed: true },
      });
    } else if (only.arch && arch !== only.arch) {
      continue;
    } else if (!config.architectures.includes(arch)) {
      plans.push({
        node,
        arch,
        targets: [],
        skipped: { why: `the farm does not build ${arch} (architectures: ${config.architectures.join(', ')})`, failed: false },
      });
    } else {
      plans.push({ node, arch, targets: suites.map((suite) => ({ suite, arch, base: config.chroot.base[suite] ?? suite })) });
    }
  }
  return plans;
}

/** The keyring, read once on the main node: its absence is the configuration's problem, said before any node is touched. */
function readKeyring(path: string): Buffer {
  try {
    const size = statSync(path).size;
    if (size > MAX_KEYRING_BYTES) throw new Error(`it is ${size} bytes, more than ${MAX_KEYRING_BYTES}`);
    const bytes = readFileSync(path);
    if (bytes.length === 0) throw new Error('it is empty');
    return bytes;
  } catch (err) {
    throw new ReprofarmError(`cannot read the chroot keyring ${path}`, {
      cause: err,
      advice:
        "set chroot.keyring (default: mirror_keyring) to the keyring chroot.mirror's Release files are signed with, e.g. /usr/share/keyrings/debian-archive-keyring.gpg",
    });
  }
}

/** Where a node's tarballs live: nodes that share one (the same workdir on the same machine) share their tarballs. */
function placeOf(node: NodeConfig): string {
  return node.transport === 'local' ? `local:${node.workdir}` : `ssh:${node.user}@${node.host}:${node.port}:${node.workdir}`;
}

/** The tail of what the node printed: the lines that say why. */
function tail(text: string): string {
  return text.trim().split('\n').slice(-OUTPUT_TAIL_LINES).join('\n');
}

/** A node's answer to chroot-update: the tarball's facts, checked (the node is not trusted). */
function parseInfo(stdout: string): { fresh: boolean; created: Date; size: number; sha256: string } | string {
  const kv = parseKeyValues(stdout);
  const created = kv.get('CREATED') ?? '';
  const size = kv.get('SIZE') ?? '';
  const sha256 = kv.get('SHA256') ?? '';
  if (!/^\d{1,11}$/.test(created) || !/^\d{1,15}$/.test(size) || !/^[0-9a-f]{64}$/.test(sha256)) {
    return `the node's answer has no valid CREATED, SIZE and SHA256: ${excerpt(stdout, 200)}`;
  }
  return { fresh: kv.get('FRESH') === '1', created: new Date(Number(created) * 1000), size: Number(size), sha256 };
}

async function updateOne(
  link: NodeLink,
  t: ChrootTarget,
  stdin: Buffer,
  maxAgeS: number,
  opts: ChrootUpdateOptions,
): Promise<Omit<ChrootOutcome, 'node' | 'durationMs' | 'sameAs'> & { unreachable?: boolean }> {
  const base = { suite: t.suite, arch: t.arch, base: t.base, created: null, size: null, sha256: null, output: null };
  const failed = (error: string, output: string | null = null) => ({ ...base, result: 'failed' as const, error, output });
  let r;
  try {
    r = await runNodeScript(
      link,
      'chroot-update',
      { suite: t.suite, arch: t.arch, package: t.base, version: String(maxAgeS) },
      stdin,
      opts.timeoutS,
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (err) {
    if (err instanceof TransportError) {
      // unreachable (not a connection dropped under a command): its other chroots are not tried
      return { ...failed(err.advice ? `${err.message} (${err.advice})` : err.message), unreachable: err.kind !== 'dropped' };
    }
    return failed(err instanceof Error ? err.message : String(err));
  }
  const stderr = r.stderr.toString('utf8');
  if (opts.signal?.aborted) return failed('interrupted');
  if (r.timedOut) return failed(`not done within ${opts.timeoutS} s (--timeout)`, tail(stderr) || null);
  if (r.code !== 0) {
    const words =
      stderr
        .trim()
        .split('\n')[0]
        ?.replace(/^node-build: /, '') ?? '';
    return failed(`exit ${r.code ?? `signal ${r.signal ?? '?'}`}${words ? `: ${nodeWords(words).slice(0, 400)}` : ''}`, tail(stderr) || null);
  }
  const info = parseInfo(r.stdout.toString('utf8'));
  if (typeof info === 'string') return failed(info);
  return {
    ...base,
    result: info.fresh ? 'up-to-date' : 'made',
    created: info.created.toISOString(),
    size: info.size,
    sha256: info.sha256,
    error: null,
  };
}

/** Every plan's tarballs, recorded as they are made or found up to date; the nodes that share a workdir do it once. */
export async function updateChroots(config: Config, db: FarmDb, plans: readonly NodePlan[], opts: ChrootUpdateOptions): Promise<ChrootOutcome[]> {
  const work = plans.filter((p) => p.targets.length > 0);
  const keyring = work.length > 0 ? readKeyring(config.chroot.keyring) : Buffer.alloc(0);
  const stdin = Buffer.from(`MIRROR=${chrootMirrorUrl(config.chroot.mirror)}\n${keyring.toString('base64')}\n`);
  const maxAgeS = opts.force ? 0 : Math.round(config.chroot.maxAgeDays * 86400);
  const places = new Map<string, NodePlan[]>();
  for (const p of work) places.set(placeOf(p.node), [...(places.get(placeOf(p.node)) ?? []), p]);
  const limit = pLimit(opts.concurrency);
  const files = new SshFileCache();
  const done: ChrootOutcome[][] = await Promise.all(
    [...places.values()].map((group) =>
      limit(async () => {
        const [first, ...others] = group as [NodePlan, ...NodePlan[]];
        const link = new NodeLink(first.node, Math.min(opts.timeoutS, 60) * 1000, files, opts.signal);
        const out: ChrootOutcome[] = [];
        try {
          for (const t of first.targets) {
            opts.onEvent?.({ type: 'chroot-start', node: first.node.name, suite: t.suite, arch: t.arch });
            const t0 = performance.now();
            const r = await updateOne(link, t, stdin, maxAgeS, opts);
            const durationMs = performance.now() - t0;
            // the others of the place get the same tarball, if they build that suite
            for (const p of [first, ...others]) {
              if (p !== first && !p.targets.some((x) => x.suite === t.suite && x.arch === t.arch)) continue;
              const { unreachable: _u, ...res } = r;
              const o: ChrootOutcome = { ...res, node: p.node.name, durationMs, sameAs: p === first ? null : first.node.name };
              if (o.created && o.size !== null && o.sha256) {
                recordChroot(db, o.node, { suite: o.suite, arch: o.arch, created: new Date(o.created), size: o.size, sha256: o.sha256 });
              }
              out.push(o);
              opts.onEvent?.({ type: 'chroot-done', outcome: o });
            }
            // a node that cannot be reached is not tried again for its other chroots
            if (r.unreachable) {
              for (const rest of first.targets.slice(first.targets.indexOf(t) + 1)) {
                for (const p of group) {
                  if (!p.targets.some((x) => x.suite === rest.suite && x.arch === rest.arch)) continue;
                  const o: ChrootOutcome = {
                    ...rest,
                    node: p.node.name,
                    result: 'failed',
                    durationMs: 0,
                    created: null,
                    size: null,
                    sha256: null,
                    error: `not tried: ${r.error ?? 'the node cannot be reached'}`,
                    output: null,
                    sameAs: p === first ? null : first.node.name,
                  };
                  out.push(o);
                  opts.onEvent?.({ type: 'chroot-done', outcome: o });
                }
              }
              break;
            }
          }
        } finally {
          link.close();
        }
        return out;
      }),
    ),
  );
  return done.flat();
}
