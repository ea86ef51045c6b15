/** Work orders: KEY=VALUE files the main node writes and node-build.sh reads (pure). */
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
