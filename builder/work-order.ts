/** Work orders: KEY=VALUE files the main node writes and node-build.sh reads (pure). */
import { excerpt } from '../core/errors.js';
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
  TIMEOUT: string;
  /** the node's CPU count (its collected NUM_CPU fact): node-build.sh then needs no nproc */
  NUM_CPU?: string;
  /** the job's variations for this build that differ from the defaults (config.ts VARIATION_KEYS), as V_<KEY> lines */
  variations?: Readonly<Record<string, string>>;
}

const ORDER: ReadonlyArray<Exclude<keyof WorkOrder, 'variations'>> = ['SOURCE', 'VERSION', 'SUITE', 'ARCH', 'DSC_URL', 'DSC_SHA256', 'BUILD', 'JOB', 'NODE', 'BUILD_COMMAND', 'TIMEOUT', 'NUM_CPU'];

export function formatWorkOrder(w: WorkOrder): string {
  const keys = ORDER.filter((k) => w[k] !== undefined);
  const lines: Array<[string, string]> = keys.map((k) => [k, w[k] ?? '']);
  for (const [k, v] of Object.entries(w.variations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!/^[A-Z][A-Z_]*$/.test(k)) throw new Error(`work order variation ${JSON.stringify(k)} is not a variation name`);
    lines.push([`V_${k}`, v]);
  }
  for (const [k, v] of lines) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new Error(`work order ${k} contains a control character`);
  }
  return lines.map(([k, v]) => `${k}=${v}\n`).join('');
}

/** Relative path of a package version under builds/<NODE>/, results/<NODE>/ and the node's dirs. */
export function packagePath(suite: string, arch: string, pkg: string, version: string): string {
  return `${suite}/${arch}/${pkg}/${version}`;
}

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
