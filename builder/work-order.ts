/** Work orders: KEY=VALUE files the main node writes and node-build.sh reads (pure): what they hold, written and read. */
import { excerpt, ReprofarmError } from '../core/errors.js';
import type { Config, NodeConfig } from '../core/config.js';
import { VARIATION_KEYS, variationValues, WORK_ORDER_KEYS } from '../core/protocol.js';
import type { Claim } from '../db/archive.js';
export interface WorkOrder {
  SOURCE: string;
  VERSION: string;
  SUITE: string;
  ARCH: string;
  DSC_URL: string;
  DSC_SHA256: string;
  BUILD: '1' | '2';
  JOB: string;
  NODE: string;
  BUILD_COMMAND: string;
  /** core/protocol.ts BACKENDS: plain (on the node itself) or chroot (a fresh chroot of the suite's tarball) */
  BACKEND: string;
  TIMEOUT: string;
  /** the node's CPU count (its collected NUM_CPU fact): node-build.sh then needs no nproc */
  NUM_CPU?: string;
  /** node-build.sh refuses to start a build with less room in the workdir (health.min_free_disk_mb) */
  MIN_FREE_MB: string;
  /** every variation's value for this build (core/protocol.ts variationValues), as V_<KEY> lines */
  variations: Readonly<Record<string, string>>;
}

/** A work order that cannot be written: a value the configuration should have refused. */
export class WorkOrderError extends ReprofarmError {
  override name = 'WorkOrderError';
  constructor(message: string) {
    super(message, { advice: 'check jobs.<NAME>.variations and build.command in the configuration' });
  }
}

export function formatWorkOrder(w: WorkOrder): string {
  const keys = WORK_ORDER_KEYS.filter((k) => w[k] !== undefined);
  const lines: Array<[string, string]> = keys.map((k) => [k, w[k] ?? '']);
  for (const [k, v] of Object.entries(w.variations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!VARIATION_KEYS.has(k)) throw new WorkOrderError(`work order variation ${JSON.stringify(k)} is not a variation name`);
    lines.push([`V_${k}`, v]);
  }
  for (const [k, v] of lines) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new WorkOrderError(`work order ${k} contains a control character`);
  }
  return lines.map(([k, v]) => `${k}=${v}\n`).join('');
}

export { packagePath } from '../core/protocol.js';

/** The .dsc URL as nodes reach the mirror. */
export function dscUrl(nodeMirror: string, directory: string, dscName: string): string {
  const base = nodeMirror.replace(/\/+$/, '');
  return `${base}/${directory}/${dscName}`;
}

export { parseKeyValues } from '../collector/facts.js';

/** SHA256SUMS lines: `<sha256>  <name>`; names must be plain file names. */
export function parseSha256Sums(text: string): Array<{ sha256: string; name: string }> | string {
  const out: Array<{ sha256: string; name: string }> = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *]([A-Za-z0-9][A-Za-z0-9.+~_-]*)$/.exec(line);
    if (!m) return `SHA256SUMS line ${i + 1} is not "<sha256>  <file name>"`;
    out.push({ sha256: m[1] as string, name: m[2] as string });
  }
  return out;
}

/**
 * The numbers a node's status file gives, with the range each must be in: a
 * node's word, so `DURATION=-1e308` must not reach the DB or the pages.
 */
const STATUS_NUMBERS: ReadonlyArray<readonly [key: string, max: number]> = [
  ['EXIT_CODE', 255],
  ['START', 1e11],
  // the longest build timeout (7 days) plus preparing, with room
  ['DURATION', 30 * 86400],
  ['BUILD_COMMAND_MS', 30 * 86400 * 1000],
];

/** What is wrong with a status file's numbers, or undefined: each, where given, a whole number from 0 to its maximum. */
export function statusProblem(status: ReadonlyMap<string, string>): string | undefined {
  for (const [key, max] of STATUS_NUMBERS) {
    const v = status.get(key);
    if (v === undefined) continue;
    if (!/^\d{1,15}$/.test(v) || Number(v) > max) return `${key} must be a whole number from 0 to ${max}, not ${excerpt(v, 40)}`;
  }
  if (!status.has('EXIT_CODE')) return 'EXIT_CODE is missing';
  return undefined;
}

/** Build n's work order for a claim on a node: every value the build needs, nothing left to node-build.sh's choice. */
export function workOrderFor(
  config: Config,
  n: 1 | 2,
  node: NodeConfig,
  claim: Claim,
  job: string,
  dsc: { url: string; sha256: string },
  numCpu?: string,
  variations: Readonly<Record<string, string>> = variationValues(n, config.jobs.get(job)?.variations[n === 1 ? 'build1' : 'build2']),
): string {
  return formatWorkOrder({
    SOURCE: claim.package,
    VERSION: claim.version,
    SUITE: claim.suite,
    ARCH: claim.arch,
    DSC_URL: dsc.url,
    DSC_SHA256: dsc.sha256,
    BUILD: n === 1 ? '1' : '2',
    JOB: job,
    NODE: node.name,
    BUILD_COMMAND: config.build.command,
    BACKEND: config.build.backend,
    TIMEOUT: String(Math.round(n === 1 ? config.build.timeout1 : config.build.timeout2)),
    ...(numCpu ? { NUM_CPU: numCpu } : {}),
    MIN_FREE_MB: String(Math.ceil(config.health.minFreeDiskMb)),
    variations,
  });
}
