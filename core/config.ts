/**
 * reprofarm.yaml: parsed into `{ config, errors, warnings }`. Every error names
 * its key path; all errors are collected before anything connects. Unknown keys
 * are errors, so a typo is never silently ignored.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { load as loadYaml, CORE_SCHEMA, YAMLException } from 'js-yaml';
import { parseCron } from './cron.js';
import { ConfigError, excerpt, ReprofarmError } from './errors.js';
import { suggest } from './suggest.js';

export type TransportKind = 'ssh' | 'local';

export interface NodeConfig {
  name: string;
  transport: TransportKind;
  /** ssh only */
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  /** optional: else the node's collected ARCH fact */
  arch: string | undefined;
  /** taken out of service by the operator: no builds */
  offline: boolean;
  /** absolute */
  workdir: string;
}

export interface JobConfig {
  name: string;
  nodes: [string, string];
  /** variations that differ from the defaults, per build (keys as in VARIATION_KEYS) */
  variations: { build1: Record<string, string>; build2: Record<string, string> };
}

/**
 * The variations a job may set for build 1 and build 2 (`jobs.<NAME>.variations.build1|build2`),
 * each with the pattern its value must match. node-build.sh checks them again on the node.
 * `unset` leaves a variable out of the build's environment; HOSTNAME and DOMAINNAME `node`
 * keep the node's own; PARALLEL `node` is the node's CPU count, `node+1` one more; DATE
 * `real` is the real clock, else a faketime time specification.
 */
export const VARIATION_KEYS: Readonly<Record<string, { re: RegExp; what: string }>> = {
  TZ: { re: /^[A-Za-z0-9/_+-]{1,64}$/, what: 'a time zone like Etc/GMT-14 or Europe/Tallinn' },
  DATE: { re: /^(real|@\d{1,12}|\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d)?|([+-]\d{1,6} (year|month|week|day|hour|minute|second)s?)( [+-]\d{1,6} (year|month|week|day|hour|minute|second)s?){0,5})$/,
    what: '"real", "@EPOCH", "YYYY-MM-DD[ HH:MM:SS]" or offsets like "+398 days +6 hours"' },
  LANG: { re: /^[A-Za-z0-9_.@-]{1,64}$/, what: 'a locale like C or et_EE.UTF-8' },
  LC_ALL: { re: /^(unset|[A-Za-z0-9_.@-]{1,64})$/, what: 'a locale, or "unset"' },
  LANGUAGE: { re: /^[A-Za-z0-9_.@:-]{1,128}$/, what: 'a list like et_EE:et' },
  TERM: { re: /^(unset|[A-Za-z0-9._+-]{1,32})$/, what: 'a terminal type like linux, or "unset"' },
  COLUMNS: { re: /^(unset|[1-9]\d{0,3})$/, what: 'a number of columns, or "unset"' },
  UMASK: { re: /^0[0-7]{3}$/, what: 'an octal umask like 0022' },
  // no ".." anywhere, not only as a whole part: node-build.sh's no_dotdot refuses `*..*`
  HOME: { re: /^\/(?!.*\.\.)[A-Za-z0-9._/+-]{0,200}$/, what: 'an absolute path without ".."' },
  PATH: { re: /^\/(?!.*\.\.)[A-Za-z0-9._/+:-]{0,500}$/, what: 'a PATH of absolute directories without ".."' },
  CAPTURE_ENVIRONMENT: { re: /^(unset|[A-Za-z0-9 ._+-]{1,100})$/, what: 'letters, digits, spaces and . _ + -, or "unset"' },
  HOSTNAME: { re: /^(node|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$/, what: 'a host name label, or "node" (the node\'s own)' },
  DOMAINNAME: { re: /^(node|[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?)$/, what: 'a domain name, or "node" (the node\'s own)' },
  PARALLEL: { re: /^(node|node\+1|[1-9]\d{0,3})$/, what: '"node", "node+1" or a number of jobs' },
};

export interface HealthThresholds {
  minFreeDiskMb: number;
  minFreeInodes: number;
  maxLoadPerCpu: number;
}

export interface Config {
  /** the file it came from, or null for the embedded default */
  file: string | null;
  stateDir: string;
  siteDir: string;
  mirror: string;
  mirrorKeyring: string;
  mirrorVerify: boolean;
  suites: string[];
  architectures: string[];
  nodes: Map<string, NodeConfig>;
  jobs: Map<string, JobConfig>;
  collect: { concurrency: number; timeout: number; retentionDays: number; interval: number };
  health: HealthThresholds;
  schedule: { maxPerArch: number; minAgeDays: number; retryFailedDays: number; manualDailyLimit: number; defaultPriority: number };
  /** source packages never built: status blacklisted */
  blacklist: Set<string>;
  build: BuildSettings;
  /** when the generated job definitions run each command: cron expressions */
  timers: Timers;
  /** how generated services and jobs run reprofarm */
  service: ServiceSettings;
  cleanup: { resultsRetentionDays: number };
  site: SiteSettings;
  worker: WorkerSettings;
  sync: SyncSettings;
}

/** how large a mirror's Sources index may become while sync reads it; past a limit the suite is refused */
export interface SyncSettings {
  /** the decompressed index may be at most this many times the size of the compressed file */
  maxExpansion: number;
  maxLineBytes: number;
  maxStanzaBytes: number;
}

export interface WorkerSettings {
  /** seconds to sleep when nothing is scheduled */
  idleSleep: number;
  /** seconds running builds may take to finish after SIGTERM */
  grace: number;
  /** the longest wait, seconds, before a job whose nodes failed tries again (it doubles from 30 s) */
  backoffMax: number;
}

export interface SiteSettings {
  /** how many of a job's latest builds the variation table counts */
  recentBuilds: number;
  /** node facts a job's two nodes are expected to differ in (else the job is flagged) */
  varyFacts: string[];
}

export interface Timers {
  /** one build per job (crontab, Jenkins); systemd runs the worker instead */
  build: string;
  collect: string;
  sync: string;
  site: string;
  cleanup: string;
}

export interface ServiceSettings {
  /** the user the services and cron jobs run as */
  user: string;
  /** absolute path of the node binary */
  node: string;
  /** seconds the worker gets to stop after SIGTERM */
  stopTimeout: number;
}

export const DEFAULT_TIMERS: Timers = {
  build: '* * * * *',
  collect: '*/15 * * * *',
  sync: '17 */6 * * *',
  site: '*/10 * * * *',
  cleanup: '40 * * * *',
};

export interface BuildSettings {
  /** run in the unpacked source tree on the node */
  command: string;
  /** seconds */
  timeout1: number;
  timeout2: number;
  /** the mirror as nodes reach it (default: mirror) */
  nodeMirror: string;
  diffoscopeTimeout: number;
  diffoscopeMaxBytes: number;
  /** at most this many bytes of results are fetched from one build (all its files together) */
  maxResultBytes: number;
  /** each of status, SHA256SUMS, .changes and .buildinfo: larger ones are refused before they are fetched (build.max_metadata_kb) */
  maxMetadataBytes: number;
  /** failures of one kind after which a package version is recorded and not retried (build.max_attempts) */
  maxAttempts: number;
}

export interface ConfigResult {
  config: Config | undefined;
  /** at most MAX_CONFIG_ERRORS, then one "... and N more" */
  errors: string[];
  /** how many errors there were in all */
  errorCount: number;
  warnings: string[];
}

/** Names used in paths on the main node and on nodes: no slashes, no dots first, no shell characters. */
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const SUITE_RE = /^[a-z0-9][a-z0-9.+-]{0,63}$/;
/** Folders at the dashboard's root, beside one folder per suite. */
export const RESERVED_SUITES: readonly string[] = ['static', 'rb-pkg', 'logs', 'dbd', 'node-information'];
export const ARCH_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$|^[0-9A-Fa-f:.]+$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Errors reported one by one; past them only a count (a file of a million bad keys must not print hundreds of MB). */
export const MAX_CONFIG_ERRORS = 50;
/** The largest configuration read: a farm of hundreds of nodes is tens of KB; parsing costs about 100 times the file's size in memory. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Any string value: path, URL, name. */
const MAX_STRING = 1024;
/** A path, resolved (a local node's workdir too): files go several levels below it (PATH_MAX is 4096). */
const MAX_PATH = 1024;
/**
 * build.command, in bytes: node-build.sh takes it from the work order and runs it as one
 * argument of `sh -c`; Linux refuses any one argument over 128 KiB (MAX_ARG_STRLEN:
 * "Argument list too long") and all of them together over ARG_MAX, so this stays well under.
 */
export const MAX_BUILD_COMMAND_BYTES = 8192;
/**
 * An ssh node's workdir: node-wrapper.sh, the forced command, refuses commands over 4096
 * characters, and the clean-up's `rm -rf` names six paths under the workdir, each with the
 * node's name and SUITE/ARCH/PKG/VERSION: 200 leaves them room.
 */
const MAX_SSH_WORKDIR = 200;

/**
 * The characters a workdir may hold. Mirrors node-build.sh's
 *   case $WORKDIR in *[!A-Za-z0-9._/+-]*|*\/..\/*|*\/..) usage "REPROFARM_WORKDIR has odd characters"
 * and node-wrapper.sh's
 *   case $WORKDIR in *[!A-Za-z0-9._/+-]*|... refuse "WORKDIR in the forced command has odd characters"
 * (both also want it absolute): change them together.
 */
export const WORKDIR_RE = /^[A-Za-z0-9._/+-]+$/;

/**
 * What node-build.sh or node-wrapper.sh would refuse of a workdir, or undefined. Beyond
 * node-build.sh's checks (absolute, WORKDIR_RE, no ".." part), node-wrapper.sh refuses
 * `/` itself and any "//", "/./", "/." or "/" at the end:
 *   case $WORKDIR in ...|*\/.\/*|*\/.|*\/\/*|*\/) refuse ...
 */
export function workdirProblem(w: string): string | undefined {
  if (!w.startsWith('/')) return `${excerpt(w, 200)} must be an absolute path on the node`;
  const bad = WORKDIR_RE.test(w) ? null : /[^A-Za-z0-9._/+-]/.exec(w);
  if (bad) return `${excerpt(w, 200)} has a character node-build.sh refuses (${excerpt(bad[0])}); use only letters, digits and . _ / + - (it is used in commands on the node)`;
  if (/(^|\/)\.\.(\/|$)/.test(w)) return 'must not contain ".."';
  if (w === '/') return '"/" cannot be a workdir (node-wrapper.sh, the forced command, refuses it); use a directory of its own, like /srv/workspace';
  if (/\/\/|\/\.(\/|$)|\/$/.test(w)) {
    return `${excerpt(w, 200)} is not a plain absolute path: no "//", "." or ".." parts and no "/" at the end (node-wrapper.sh, the forced command, refuses them); write ${excerpt(resolve(w), 200)}`;
  }
  return undefined;
}

/** A key as part of a key path: as it is when short and printable, else quoted and cut. */
function keyName(k: string): string {
  return /^[\x21-\x7e]{1,64}$/.test(k) ? k : excerpt(k, 64);
}

/** Debian architecture of this machine, for the embedded default. */
export function hostDebianArch(): string {
  const map: Record<string, string> = {
    x64: 'amd64', arm64: 'arm64', ia32: 'i386', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64',
  };
  return map[process.arch] ?? process.arch;
}

/** The embedded default: two local nodes, no SSH, state under ./state. */
export function embeddedDefaultYaml(): string {
  return `# reprofarm's embedded default: two local nodes on this machine, no SSH, and the
# quick start's mirror of sample packages (scripts/demo-mirror.sh writes it)
state_dir: ./state
site_dir: ./public
mirror: ./state/mirror
mirror_keyring: ./state/mirror/demo-archive-keyring.gpg
suites: [bookworm]
architectures: [${hostDebianArch()}]
nodes:
  local1:
    transport: local
  local2:
    transport: local
jobs:
  reproducible_build_local_1: { nodes: [local1, local2] }
`;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${typeof v === 'string' ? excerpt(v) : JSON.stringify(v)}`;
}

function jobVariations(c: Checker, v: unknown, p: string): JobConfig['variations'] {
  const out: JobConfig['variations'] = { build1: {}, build2: {} };
  if (v === undefined || v === null) return out;
  if (!isObj(v)) {
    c.err(p, `must be a mapping like { build2: { TZ: Etc/GMT-13 } }, got ${describe(v)}`);
    return out;
  }
  c.unknownKeys(v, p, ['build1', 'build2']);
  for (const b of ['build1', 'build2'] as const) {
    const m = v[b];
    if (m === undefined || m === null) continue;
    if (!isObj(m)) {
      c.err(`${p}.${b}`, `must be a mapping of variations like { TZ: Etc/GMT-13 }, got ${describe(m)}`);
      continue;
    }
    c.unknownKeys(m, `${p}.${b}`, Object.keys(VARIATION_KEYS));
    for (const [k, rule] of Object.entries(VARIATION_KEYS)) {
      if (m[k] === undefined) continue;
      // a number is its text here (PARALLEL: 3); node-build.sh checks each value again
      const s = c.str(m, k, `${p}.${b}`, '', rule.re, rule.what, { numbers: true });
      if (s) out[b][k] = s;
    }
  }
  return out;
}

interface StrOptions {
  /** the longest value allowed (default MAX_STRING) */
  max?: number;
  /** max counts UTF-8 bytes, not characters */
  bytes?: boolean;
  /** why that limit, for the message */
  why?: string;
  /** a number is taken as its text (variations such as PARALLEL: 3); elsewhere a number is an error, not coerced */
  numbers?: boolean;
}

class Checker {
  /** the first MAX_CONFIG_ERRORS errors; `total` counts them all */
  errors: string[] = [];
  total = 0;
  warnings: string[] = [];
  constructor(readonly baseDir: string) {}

  err(path: string, msg: string): void {
    this.total++;
    if (this.errors.length < MAX_CONFIG_ERRORS) this.errors.push(`${path}: ${msg}`);
  }

  /** No more errors are kept: only counted. */
  get full(): boolean {
    return this.errors.length >= MAX_CONFIG_ERRORS;
  }

  /** The errors kept, and a count of the rest. */
  reported(): string[] {
    return this.total > this.errors.length ? [...this.errors, `... and ${this.total - this.errors.length} more`] : this.errors;
  }

  unknownKeys(obj: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (known.includes(k)) continue;
      if (this.full) {
        this.total++;
        continue;
      }
      // no known key is long: a long one is no typo of one (and its edit distance would cost its length times theirs)
      const near = k.length <= 64 ? suggest(k, known) : undefined;
      this.err(path ? `${path}.${keyName(k)}` : keyName(k), `unknown key${near ? ` (did you mean "${near}"?)` : ''}; known keys here: ${known.join(', ')}`);
    }
  }

  str(obj: Obj, key: string, path: string, dflt: string | undefined, re?: RegExp, what?: string, opts: StrOptions = {}): string | undefined {
    const v = obj[key];
    const p = path ? `${path}.${key}` : key;
    if (v === undefined || v === null) {
      if (dflt === undefined) this.err(p, 'missing; this key is required');
      return dflt;
    }
    if (typeof v !== 'string' && !(typeof v === 'number' && opts.numbers)) {
      this.err(p, `must be a string, got ${describe(v)}${typeof v === 'number' ? ` (quote it if you mean the text "${v}")` : ''}`);
      return dflt;
    }
    const s = String(v);
    if (s === '') {
      this.err(p, dflt === undefined ? 'is empty; this key is required' : 'is empty; leave the key out for the default');
      return dflt;
    }
    const max = opts.max ?? MAX_STRING;
    const len = opts.bytes ? Buffer.byteLength(s) : s.length;
    if (len > max) {
      this.err(p, `is ${len} ${opts.bytes ? 'bytes' : 'characters'} long; at most ${max}${opts.why ? ` (${opts.why})` : ''}`);
      return dflt;
    }
    if (re && !re.test(s)) {
      this.err(p, `${excerpt(s)} is not ${what ?? 'valid'}`);
      return dflt;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\0-\x1f\x7f]/.test(s)) {
      this.err(p, 'must not contain control characters');
      return dflt;
    }
    return s;
  }

  path(obj: Obj, key: string, path: string, dflt: string | undefined): string | undefined {
    const s = this.str(obj, key, path, dflt, undefined, undefined, { max: MAX_PATH });
    if (s === undefined) return undefined;
    const r = resolve(this.baseDir, s.startsWith('~/') ? `${homedir()}${s.slice(1)}` : s);
    if (r.length > MAX_PATH) {
      this.err(path ? `${path}.${key}` : key, `is ${r.length} characters long once resolved; at most ${MAX_PATH}`);
      return undefined;
    }
    return r;
  }

  num(obj: Obj, key: string, path: string, dflt: number, min: number, max: number, integer: boolean): number {
    const v = obj[key];
    const p = path ? `${path}.${key}` : key;
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      this.err(p, `must be ${integer ? 'an integer' : 'a number'}, got ${describe(v)}`);
      return dflt;
    }
    if (v < min || v > max) {
      this.err(p, `${v} is out of range; use ${min}..${max}`);
      return dflt;
    }
    return v;
  }

  bool(obj: Obj, key: string, path: string, dflt: boolean): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') {
      this.err(path ? `${path}.${key}` : key, `must be true or false, got ${describe(v)}`);
      return dflt;
    }
    return v;
  }

  list(obj: Obj, key: string, dflt: string[], re: RegExp, what: string, allowEmpty = false, section?: string): string[] {
    const v = obj[key];
    const at = section ? `${section}.${key}` : key;
    if (v === undefined || v === null) return dflt;
    if (!Array.isArray(v) || (v.length === 0 && !allowEmpty)) {
      this.err(at, `must be a ${allowEmpty ? '' : 'non-empty '}list, got ${describe(v)}`);
      return dflt;
    }
    const out: string[] = [];
    // a Set: a blacklist of tens of thousands is checked in linear time
    const seen = new Set<string>();
    v.forEach((item, i) => {
      if (typeof item !== 'string' || !re.test(item)) this.err(`${at}[${i}]`, `${describe(item)} is not ${what}`);
      else if (seen.has(item)) this.err(`${at}[${i}]`, `"${item}" is listed twice`);
      else {
        seen.add(item);
        out.push(item);
      }
    });
    return out;
  }

  section(obj: Obj, key: string): Obj {
    const v = obj[key];
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      this.err(key, `must be a mapping, got ${describe(v)}`);
      return {};
    }
    return v;
  }
}

const TOP_KEYS = ['state_dir', 'site_dir', 'mirror', 'mirror_keyring', 'mirror_verify', 'suites', 'architectures', 'nodes', 'jobs', 'collect', 'health', 'schedule', 'blacklist', 'build', 'timers', 'service', 'cleanup', 'site', 'worker', 'sync'] as const;
const SSH_NODE_KEYS = ['transport', 'host', 'port', 'user', 'arch', 'identity_file', 'known_hosts', 'workdir', 'offline'] as const;
const LOCAL_NODE_KEYS = ['transport', 'arch', 'workdir', 'offline'] as const;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

function tooLarge(size: string): string {
  return `the file is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES} bytes (1 MiB)`;
}

/** Validate a configuration text. `source` names it in messages; relative paths resolve against `baseDir`. */
export function parseConfig(text: string, source: string, baseDir: string, file: string | null): ConfigResult {
  const size = Buffer.byteLength(text);
  if (size > MAX_CONFIG_BYTES) return { config: undefined, errors: [tooLarge(String(size))], errorCount: 1, warnings: [] };
  let raw: unknown;
  try {
    // the core schema: no timestamps or other implicit types, duplicate keys are errors
    raw = loadYaml(text, { schema: CORE_SCHEMA, filename: source });
  } catch (err) {
    if (err instanceof YAMLException) {
      const pos = err.mark ? `line ${err.mark.line + 1}, column ${err.mark.column + 1}` : 'YAML';
      const reason = err.reason.length > 200 ? `${err.reason.slice(0, 200)}…` : err.reason;
      return { config: undefined, errors: [`${pos}: ${reason}`], errorCount: 1, warnings: [] };
    }
    throw err;
  }
  const c = new Checker(baseDir);
  if (raw !== null && raw !== undefined && !isObj(raw)) {
    return { config: undefined, errors: [`top level: must be a mapping of keys, got ${describe(raw)}`], errorCount: 1, warnings: [] };
  }
  const top: Obj = raw ?? {};
  c.unknownKeys(top, '', TOP_KEYS);

  const stateDir = c.path(top, 'state_dir', '', './state') ?? resolve(baseDir, 'state');
  const siteDir = c.path(top, 'site_dir', '', './public') ?? resolve(baseDir, 'public');
  const mirrorRaw = c.str(top, 'mirror', '', './state/mirror') ?? '';
  let mirror = mirrorRaw;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirrorRaw)) {
    if (!/^(https?|file):\/\//.test(mirrorRaw)) c.err('mirror', `${excerpt(mirrorRaw)}: only http://, https://, file:// or a path are supported`);
  } else {
    mirror = resolve(baseDir, mirrorRaw);
    if (mirror.length > MAX_PATH) c.err('mirror', `is ${mirror.length} characters long once resolved; at most ${MAX_PATH}`);
  }
  const mirrorKeyring = c.path(top, 'mirror_keyring', '', '/usr/share/keyrings/debian-archive-keyring.gpg') ?? '';
  const mirrorVerify = c.bool(top, 'mirror_verify', '', true);
  const suites = c.list(top, 'suites', ['bookworm'], SUITE_RE, 'a suite name (lower case letters, digits, . + -)');
  for (const s of suites) {
    if (RESERVED_SUITES.includes(s)) c.err('suites', `"${s}" cannot be a suite name: the dashboard has a folder of that name beside the suites' (${RESERVED_SUITES.join(', ')} are taken)`);
  }
  const architectures = c.list(top, 'architectures', [hostDebianArch()], ARCH_RE, 'a Debian architecture name');

  const nodes = new Map<string, NodeConfig>();
  /** local nodes whose default workdir, under state_dir, node-build.sh refuses */
  const refusedDefaults: string[] = [];
  const nodesObj = c.section(top, 'nodes');
  if (Object.keys(nodesObj).length === 0) c.err('nodes', 'no nodes configured; add at least two (see README.md, "Adding a node")');
  for (const [name, v] of Object.entries(nodesObj)) {
    const p = `nodes.${keyName(name)}`;
    if (!NODE_NAME_RE.test(name)) {
      c.err(p, 'node names may use letters, digits, ".", "_" and "-" (not first), at most 63 characters: they become file names');
      continue;
    }
    if (name === 'pending') {
      c.err(p, '"pending" cannot be a node name: node-build.sh keeps the builds in progress in WORKDIR/reproducible-builds/pending, beside each node\'s folder');
      continue;
    }
    if (name === 'sources') {
      c.err(p, '"sources" cannot be a node name: node-build.sh keeps the downloaded sources in WORKDIR/reproducible-builds/sources, beside each node\'s folder');
      continue;
    }
    if (!isObj(v)) {
      c.err(p, `must be a mapping of node settings, got ${describe(v)}`);
      continue;
    }
    const transport = c.str(v, 'transport', p, 'ssh', /^(ssh|local)$/, '"ssh" or "local"') as TransportKind;
    const arch = v.arch === undefined || v.arch === null ? undefined : c.str(v, 'arch', p, undefined, ARCH_RE, 'a Debian architecture name');
    const offline = c.bool(v, 'offline', p, false);
    if (transport === 'local') {
      c.unknownKeys(v, p, LOCAL_NODE_KEYS);
      const given = v.workdir !== undefined && v.workdir !== null;
      const workdir = c.path(v, 'workdir', p, resolve(stateDir, 'nodes', name)) ?? '';
      // node-build.sh runs locally too, with the same checks. A default one under a state_dir it
      // refuses is only warned of: every command but a build on that node still works there
      const problem = workdir ? workdirProblem(workdir) : undefined;
      if (problem && given) c.err(`${p}.workdir`, problem);
      else if (problem) refusedDefaults.push(name);
      nodes.set(name, { name, transport, host: 'localhost', port: 0, user: '', identityFile: '', knownHosts: '', arch, offline, workdir });
      continue;
    }
    c.unknownKeys(v, p, SSH_NODE_KEYS);
    const host = c.str(v, 'host', p, undefined, HOST_RE, 'a host name or IP address', { max: 253 }) ?? '';
    const port = c.num(v, 'port', p, 22, 1, 65535, true);
    const user = c.str(v, 'user', p, undefined, USER_RE, 'a user name') ?? '';
    const identityFile = c.path(v, 'identity_file', p, undefined) ?? '';
    const knownHosts = c.path(v, 'known_hosts', p, '~/.ssh/known_hosts') ?? '';
    const workdir = c.str(v, 'workdir', p, '/srv/workspace', undefined, undefined, {
      max: MAX_SSH_WORKDIR, why: 'node-wrapper.sh, the forced command, takes at most 4096 characters, and one command names six paths under it',
    }) ?? '';
    const problem = workdir ? workdirProblem(workdir) : undefined;
    if (problem) c.err(`${p}.workdir`, problem);
    nodes.set(name, { name, transport, host, port, user, identityFile, knownHosts, arch, offline, workdir });
  }

  const jobs = new Map<string, JobConfig>();
  const jobsObj = c.section(top, 'jobs');
  // the configured nodes named in a message: a few, then a count
  const names = [...nodes.keys()];
  const nodeList = names.length === 0 ? 'none' : names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
  for (const [name, v] of Object.entries(jobsObj)) {
    const p = `jobs.${keyName(name)}`;
    if (!NODE_NAME_RE.test(name)) {
      c.err(p, 'job names may use letters, digits, ".", "_" and "-" (not first), at most 63 characters');
      continue;
    }
    if (!isObj(v)) {
      c.err(p, `must be a mapping like { nodes: [NODE1, NODE2] }, got ${describe(v)}`);
      continue;
    }
    c.unknownKeys(v, p, ['nodes', 'variations']);
    const variations = jobVariations(c, v.variations, `${p}.variations`);
    const pair = v.nodes;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((n) => typeof n === 'string')) {
      c.err(`${p}.nodes`, `must list exactly two node names, got ${describe(pair)}`);
      continue;
    }
    const [a, b] = pair as [string, string];
    let ok = true;
    for (const [i, n] of [a, b].entries()) {
      if (!nodes.has(n) && !Object.hasOwn(nodesObj, n)) {
        c.err(`${p}.nodes[${i}]`, `${excerpt(n)} is not a configured node (nodes: ${nodeList})`);
        ok = false;
      }
    }
    if (a === b) {
      c.err(`${p}.nodes`, `both builds on ${excerpt(a)}: a job needs two different nodes`);
      ok = false;
    }
    if (ok) jobs.set(name, { name, nodes: [a, b], variations });
  }

  const collectObj = c.section(top, 'collect');
  c.unknownKeys(collectObj, 'collect', ['concurrency', 'timeout', 'retention_days', 'interval']);
  const collect = {
    concurrency: c.num(collectObj, 'concurrency', 'collect', 16, 1, 1024, true),
    timeout: c.num(collectObj, 'timeout', 'collect', 30, 0.1, 86400, false),
    retentionDays: c.num(collectObj, 'retention_days', 'collect', 14, 1, 3650, true),
    interval: c.num(collectObj, 'interval', 'collect', 3600, 60, 30 * 86400, true),
  };
  const healthObj = c.section(top, 'health');
  c.unknownKeys(healthObj, 'health', ['min_free_disk_mb', 'min_free_inodes', 'max_load_per_cpu']);
  const health = {
    minFreeDiskMb: c.num(healthObj, 'min_free_disk_mb', 'health', 1024, 0, 1e9, false),
    minFreeInodes: c.num(healthObj, 'min_free_inodes', 'health', 10000, 0, 1e12, true),
    maxLoadPerCpu: c.num(healthObj, 'max_load_per_cpu', 'health', 4, 0, 1e6, false),
  };

  const schedObj = c.section(top, 'schedule');
  c.unknownKeys(schedObj, 'schedule', ['max_per_arch', 'min_age_days', 'retry_failed_days', 'manual_daily_limit', 'default_priority']);
  const schedule = {
    maxPerArch: c.num(schedObj, 'max_per_arch', 'schedule', 500, 0, 10_000_000, true),
    minAgeDays: c.num(schedObj, 'min_age_days', 'schedule', 30, 0, 3650, false),
    retryFailedDays: c.num(schedObj, 'retry_failed_days', 'schedule', 3, 0, 3650, false),
    manualDailyLimit: c.num(schedObj, 'manual_daily_limit', 'schedule', 1000, 0, 10_000_000, true),
    defaultPriority: c.num(schedObj, 'default_priority', 'schedule', 100, 1, 1000, true),
  };
  const blacklist = new Set(c.list(top, 'blacklist', [], /^[a-z0-9][a-z0-9+.-]{1,99}$/, 'a source package name', true));

  const buildObj = c.section(top, 'build');
  c.unknownKeys(buildObj, 'build', ['command', 'timeout_build1', 'timeout_build2', 'node_mirror', 'diffoscope_timeout', 'diffoscope_max_bytes', 'max_result_mb', 'max_metadata_kb', 'max_attempts']);
  const nodeMirrorRaw = c.str(buildObj, 'node_mirror', 'build', mirror) ?? mirror;
  // node-build.sh's fetch: file://*, /*, http://*|https://*, anything else fails (every build would end E404)
  if (buildObj.node_mirror !== undefined && buildObj.node_mirror !== null && /^[a-z][a-z0-9+.-]*:\/\//i.test(nodeMirrorRaw) && !/^(https?|file):\/\//.test(nodeMirrorRaw)) {
    c.err('build.node_mirror', `${excerpt(nodeMirrorRaw)}: node-build.sh downloads only from http://, https://, file:// or a path`);
  }
  const build: BuildSettings = {
    command: c.str(buildObj, 'command', 'build', 'dpkg-buildpackage -us -uc -b', undefined, undefined, {
      max: MAX_BUILD_COMMAND_BYTES, bytes: true, why: 'node-build.sh runs it as one argument of sh -c, and Linux refuses long ones',
    }) ?? 'dpkg-buildpackage -us -uc -b',
    timeout1: c.num(buildObj, 'timeout_build1', 'build', 18 * 3600, 1, 7 * 86400, false),
    timeout2: c.num(buildObj, 'timeout_build2', 'build', 24 * 3600, 1, 7 * 86400, false),
    nodeMirror: /^[a-z][a-z0-9+.-]*:\/\//i.test(nodeMirrorRaw) ? nodeMirrorRaw : resolve(baseDir, nodeMirrorRaw),
    diffoscopeTimeout: c.num(buildObj, 'diffoscope_timeout', 'build', 1800, 1, 86400, false),
    diffoscopeMaxBytes: c.num(buildObj, 'diffoscope_max_bytes', 'build', 20 * 1024 * 1024, 1024, 1e10, true),
    maxResultBytes: c.num(buildObj, 'max_result_mb', 'build', 16384, 1, 1024 * 1024, true) * 1024 * 1024,
    maxMetadataBytes: c.num(buildObj, 'max_metadata_kb', 'build', 1024, 1, 1024 * 1024, true) * 1024,
    maxAttempts: c.num(buildObj, 'max_attempts', 'build', 3, 1, 100, true),
  };
  if (/[\s'"\\]/.test(build.nodeMirror)) c.err('build.node_mirror', 'must not contain spaces or quotes');

  const siteObj = c.section(top, 'site');
  c.unknownKeys(siteObj, 'site', ['recent_builds', 'vary_facts']);
  const site: SiteSettings = {
    recentBuilds: c.num(siteObj, 'recent_builds', 'site', 100, 1, 100_000, true),
    varyFacts: c.list(siteObj, 'vary_facts', ['HOSTNAME', 'KERNEL', 'NUM_CPU'], /^[A-Z][A-Z0-9_]{0,63}$/, 'a fact name (KEY of info.sh)', true, 'site'),
  };
  const timersObj = c.section(top, 'timers');
  const timerKeys = Object.keys(DEFAULT_TIMERS) as Array<keyof Timers>;
  c.unknownKeys(timersObj, 'timers', timerKeys);
  const timers = { ...DEFAULT_TIMERS };
  for (const k of timerKeys) {
    const text = c.str(timersObj, k, 'timers', DEFAULT_TIMERS[k], undefined, undefined, { max: 200 });
    if (text === undefined) continue;
    const spec = parseCron(text);
    if (typeof spec === 'string') c.err(`timers.${k}`, spec);
    else timers[k] = spec.text;
  }
  const serviceObj = c.section(top, 'service');
  c.unknownKeys(serviceObj, 'service', ['user', 'node', 'stop_timeout']);
  const service: ServiceSettings = {
    user: c.str(serviceObj, 'user', 'service', currentUser(), USER_RE, 'a user name') ?? currentUser(),
    node: c.str(serviceObj, 'node', 'service', process.execPath) ?? process.execPath,
    stopTimeout: c.num(serviceObj, 'stop_timeout', 'service', 300, 1, 86400, true),
  };
  if (!isAbsolute(service.node)) c.err('service.node', `${excerpt(service.node)} must be an absolute path (systemd runs it without a PATH search)`);
  const cleanupObj = c.section(top, 'cleanup');
  c.unknownKeys(cleanupObj, 'cleanup', ['results_retention_days']);
  const cleanup = { resultsRetentionDays: c.num(cleanupObj, 'results_retention_days', 'cleanup', 30, 1, 36500, false) };

  const workerObj = c.section(top, 'worker');
  c.unknownKeys(workerObj, 'worker', ['idle_sleep', 'grace', 'backoff_max']);
  const worker: WorkerSettings = {
    idleSleep: c.num(workerObj, 'idle_sleep', 'worker', 60, 0.1, 86400, false),
    grace: c.num(workerObj, 'grace', 'worker', 240, 0, 7 * 86400, false),
    backoffMax: c.num(workerObj, 'backoff_max', 'worker', 900, 1, 86400, false),
  };

  const syncObj = c.section(top, 'sync');
  c.unknownKeys(syncObj, 'sync', ['max_expansion', 'max_line_bytes', 'max_stanza_bytes']);
  const sync: SyncSettings = {
    maxExpansion: c.num(syncObj, 'max_expansion', 'sync', 20, 1, 1000, false),
    maxLineBytes: c.num(syncObj, 'max_line_bytes', 'sync', 1024 * 1024, 1024, 256 * 1024 * 1024, true),
    maxStanzaBytes: c.num(syncObj, 'max_stanza_bytes', 'sync', 8 * 1024 * 1024, 4096, 1024 * 1024 * 1024, true),
  };
  if (sync.maxStanzaBytes < sync.maxLineBytes) c.err('sync.max_stanza_bytes', `${sync.maxStanzaBytes} is less than sync.max_line_bytes (${sync.maxLineBytes}); a stanza holds at least one line`);

  if (!mirrorVerify) c.warnings.push('mirror_verify: false: the mirror\'s Release signature will not be checked');
  if (refusedDefaults.length > 0) {
    const some = refusedDefaults.length <= 10 ? refusedDefaults.join(', ') : `${refusedDefaults.slice(0, 10).join(', ')} and ${refusedDefaults.length - 10} more`;
    c.warnings.push(`state_dir: ${workdirProblem(stateDir) ?? ''}: the local nodes ${some} keep their default workdir under it (state_dir/nodes/<NAME>), where node-build.sh refuses to build; set nodes.<NAME>.workdir for them`);
  }

  if (c.total > 0) return { config: undefined, errors: c.reported(), errorCount: c.total, warnings: c.warnings };
  return {
    config: {
      file, stateDir, siteDir, mirror, mirrorKeyring, mirrorVerify, suites, architectures, nodes, jobs, collect, health, schedule, blacklist, build,
      timers, service, cleanup, site, worker, sync,
    },
    errors: [],
    errorCount: 0,
    warnings: c.warnings,
  };
}

/**
 * Find and load the configuration: `--config FILE`, else $REPROFARM_CONFIG, else
 * ./reprofarm.yaml, else the embedded default (relative to the working directory).
 * Throws ConfigError with every problem.
 */
export function loadConfig(opts: { path?: string | undefined; env?: NodeJS.ProcessEnv; cwd?: string } = {}): { config: Config; warnings: string[] } {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const explicit = opts.path ?? (env.REPROFARM_CONFIG || undefined);
  let text: string | { size: string };
  let file: string | null;
  if (explicit !== undefined) {
    file = resolve(cwd, explicit);
    try {
      text = readBounded(file);
    } catch (err) {
      throw new ReprofarmError(`cannot read configuration ${file}`, {
        cause: err,
        advice: opts.path ? 'check the --config path' : 'check $REPROFARM_CONFIG, or unset it to use ./reprofarm.yaml',
      });
    }
  } else if (existsSync(resolve(cwd, 'reprofarm.yaml'))) {
    file = resolve(cwd, 'reprofarm.yaml');
    text = readBounded(file);
  } else {
    file = null;
    text = embeddedDefaultYaml();
  }
  const source = file ?? 'embedded default';
  if (typeof text !== 'string') throw new ConfigError(source, [tooLarge(text.size)]);
  const r = parseConfig(text, source, file ? dirname(file) : cwd, file);
  if (!r.config) {
    const err = new ConfigError(source, r.errors);
    // ConfigError counts the lines it is given: say how many problems there were in all
    if (r.errorCount > r.errors.length) {
      err.message = err.message.replace(/^.*?configuration problems?:/, () => `${source}: ${r.errorCount} configuration problems (the first ${MAX_CONFIG_ERRORS} shown):`);
    }
    throw err;
  }
  return { config: r.config, warnings: r.warnings };
}

/**
 * A configuration file's text, read only up to MAX_CONFIG_BYTES (/dev/zero or a FIFO
 * never ends); when there is more, its size (or "more than" the limit).
 */
function readBounded(file: string): string | { size: string } {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) return { size: String(st.size) };
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > MAX_CONFIG_BYTES) return { size: `more than ${MAX_CONFIG_BYTES}` };
    }
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
