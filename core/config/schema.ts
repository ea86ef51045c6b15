/**
 * reprofarm.yaml's one table: every key with its type, bounds, default and one
 * line of help. core/config/parse.ts reads a file by walking it, in its order;
 * core/config/doc.ts writes docs/configuration.md from it; the CLI's --help
 * takes its defaults from it. Checks beyond one key's type and bounds are the
 * named rules of core/config/rules.ts.
 */
import { resolve } from 'node:path';
import { currentUser, hostDebianArch } from './defaults.js';
import type { Config, TransportKind } from './types.js';

/** Errors reported one by one; past them only a count (a file of a million bad keys must not print hundreds of MB). */
export const MAX_CONFIG_ERRORS = 50;
/** The largest configuration read: a farm of hundreds of nodes is tens of KB; parsing costs about 100 times the file's size in memory. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Any string value: path, URL, name. */
export const MAX_STRING = 1024;
/** A path, resolved (a local node's workdir too): files go several levels below it (PATH_MAX is 4096). */
export const MAX_PATH = 1024;
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
export const MAX_SSH_WORKDIR = 200;
/** A timer's cron expression. */
export const MAX_TIMER = 200;

/** Names used in paths on the main node and on nodes: no slashes, no dots first, no shell characters. */
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const SUITE_RE = /^[a-z0-9][a-z0-9.+-]{0,63}$/;
export const ARCH_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$|^[0-9A-Fa-f:.]+$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
/** A mail address: what sendmail and a header take unquoted; never a leading "-" (an option to sendmail). */
export const EMAIL_RE = /^[A-Za-z0-9._%+][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
export const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]{1,99}$/;
/** A package set's name (package_sets) */
export const SET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** A value with a scheme is a URL, kept as it is; anything else is a path. */
export const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** What a value may be. Every string is at most MAX_STRING characters unless `max` says otherwise, and holds no control characters. */
export type Kind =
  | { kind: 'string'; re?: RegExp; what?: string; max?: number; bytes?: boolean; why?: string }
  /** resolved against the file's folder (`~/` is the home folder); at most MAX_PATH characters, before and after */
  | { kind: 'path' }
  /** a URL (see URL_RE), or a path resolved like one; `resolvedMax`: the longest such path */
  | { kind: 'url'; resolvedMax?: number }
  | { kind: 'bool' }
  | { kind: 'number'; min: number; max: number; integer: boolean }
  /** distinct strings; `set`: Config holds a Set */
  | { kind: 'list'; re: RegExp; what: string; allowEmpty?: boolean; set?: boolean }
  /** five cron fields (core/cron.ts), at most MAX_TIMER characters */
  | { kind: 'cron' }
  /** two node names (jobs.<NAME>.nodes) */
  | { kind: 'pair' }
  /** build1: and build2: mappings of core/protocol.ts's variations */
  | { kind: 'variations' }
  /** a mapping of suite names to suite names (chroot.base) */
  | { kind: 'suiteMap' }
  /** a list of webhook mappings (core/config/notify.ts) */
  | { kind: 'webhooks' }
  /** set name -> a list of source package names or a file of them (core/config/sets.ts) */
  | { kind: 'packageSets' }
  /** an entry of nodes: or jobs:, NAME matching `re` (else `refused`); `mapping` says what its value must be */
  | { kind: 'entry'; re: RegExp; refused: string; mapping: string };

export interface DefaultContext {
  /** the keys read so far (the ones before in the table) */
  config: Readonly<Partial<Config>>;
  /** the entry's NAME, for a nodes.<NAME> or jobs.<NAME> key */
  name: string | undefined;
}

export interface Key {
  /** the key path; `<NAME>` stands for any entry of nodes: or jobs: */
  path: string;
  type: Kind;
  /** the value when the key is left out, or refused; a function when it depends on other keys or on this machine */
  default?: string | number | boolean | readonly string[] | ((d: DefaultContext) => unknown);
  /** the default as documented (Markdown), where it is not the value itself */
  shown?: string;
  required?: boolean;
  /** a key of this transport's nodes only; `otherwise`: what a node of the other transport holds */
  only?: TransportKind;
  otherwise?: string | number;
  /** the property of Config holding it, when not the key in camelCase; Config holds the value times `scale` */
  as?: string;
  scale?: number;
  help: string;
}

const int = (min: number, max: number): Kind => ({ kind: 'number', min, max, integer: true });
const num = (min: number, max: number): Kind => ({ kind: 'number', min, max, integer: false });
const text = (opts: Omit<Extract<Kind, { kind: 'string' }>, 'kind'> = {}): Kind => ({ kind: 'string', ...opts });
const PATH: Kind = { kind: 'path' };
const BOOL: Kind = { kind: 'bool' };
const CRON: Kind = { kind: 'cron' };
const NAME_CHARS = 'letters, digits, ".", "_" and "-" (not first), at most 63 characters';

export const SCHEMA: readonly Key[] = [
  { path: 'state_dir', type: PATH, default: './state', help: 'reproducible.db, node-information/, builds/ (work orders), results/, reports/ (diffoscope)' },
  { path: 'site_dir', type: PATH, default: './public', help: 'the generated dashboard' },
  { path: 'mirror', type: { kind: 'url', resolvedMax: MAX_PATH }, default: './state/mirror', help: 'Debian archive mirror: http(s)://, file:// or a path' },
  { path: 'mirror_keyring', type: PATH, default: '/usr/share/keyrings/debian-archive-keyring.gpg', help: "keyring for the Release signature (gpgv's)" },
  { path: 'mirror_verify', type: BOOL, default: true, help: '`false` skips the signature check, with a warning' },
  {
    path: 'suites',
    type: { kind: 'list', re: SUITE_RE, what: 'a suite name (lower case letters, digits, . + -)' },
    default: ['bookworm'],
    help: 'suites to test',
  },
  {
    path: 'architectures',
    type: { kind: 'list', re: ARCH_RE, what: 'a Debian architecture name' },
    default: () => [hostDebianArch()],
    shown: "this machine's",
    help: 'architectures to test',
  },

  {
    path: 'nodes.<NAME>',
    type: { kind: 'entry', re: NODE_NAME_RE, refused: `node names may use ${NAME_CHARS}: they become file names`, mapping: 'a mapping of node settings' },
    help: `a build node (at least one); NAME: ${NAME_CHARS} (it becomes file names)`,
  },
  {
    path: 'nodes.<NAME>.transport',
    type: text({ re: /^(ssh|local)$/, what: '"ssh" or "local"' }),
    default: 'ssh',
    help: '`ssh`, or `local`: a child process on the main node',
  },
  {
    path: 'nodes.<NAME>.host',
    only: 'ssh',
    otherwise: 'localhost',
    type: text({ re: HOST_RE, what: 'a host name or IP address', max: 253 }),
    required: true,
    help: 'host name or IP address',
  },
  { path: 'nodes.<NAME>.port', only: 'ssh', otherwise: 0, type: int(1, 65535), default: 22, help: 'SSH port' },
  {
    path: 'nodes.<NAME>.user',
    only: 'ssh',
    otherwise: '',
    type: text({ re: USER_RE, what: 'a user name' }),
    required: true,
    help: 'the build user on the node',
  },
  {
    path: 'nodes.<NAME>.arch',
    type: text({ re: ARCH_RE, what: 'a Debian architecture name' }),
    shown: "the node's `ARCH` fact",
    help: 'architecture the node builds',
  },
  { path: 'nodes.<NAME>.identity_file', only: 'ssh', otherwise: '', type: PATH, required: true, help: 'private key (unencrypted OpenSSH ed25519/RSA)' },
  {
    path: 'nodes.<NAME>.known_hosts',
    only: 'ssh',
    otherwise: '',
    type: PATH,
    default: '~/.ssh/known_hosts',
    help: "the node's host key must be listed here (plain or hashed entries); unknown or changed keys are refused",
  },
  {
    path: 'nodes.<NAME>.workdir',
    only: 'ssh',
    type: text({ max: MAX_SSH_WORKDIR, why: 'node-wrapper.sh, the forced command, takes at most 4096 characters, and one command names six paths under it' }),
    default: '/srv/workspace',
    help: "the node's work directory, absolute on the node",
  },
  {
    path: 'nodes.<NAME>.workdir',
    only: 'local',
    type: PATH,
    default: ({ config, name }) => resolve(config.stateDir ?? '', 'nodes', name ?? ''),
    shown: '`<state_dir>/nodes/<NAME>`',
    help: "the node's work directory",
  },
  { path: 'nodes.<NAME>.offline', type: BOOL, default: false, help: '`true` takes the node out of building' },

  {
    path: 'jobs.<NAME>',
    type: { kind: 'entry', re: NODE_NAME_RE, refused: `job names may use ${NAME_CHARS}`, mapping: 'a mapping like { nodes: [NODE1, NODE2] }' },
    help: `a pair of nodes that build each package twice, one after the other; NAME: ${NAME_CHARS}`,
  },
  { path: 'jobs.<NAME>.nodes', type: { kind: 'pair' }, required: true, help: 'two different nodes: build 1 on the first, build 2 on the second' },
  {
    path: 'jobs.<NAME>.variations',
    type: { kind: 'variations' },
    shown: 'the variation table below',
    help: "the job's own variations for each build, like `{ build2: { TZ: Etc/GMT-13 } }`: keys and values as in the variation table below",
  },

  { path: 'collect.concurrency', type: int(1, 1024), default: 16, help: 'nodes collected at once' },
  { path: 'collect.timeout', type: num(0.1, 86400), default: 30, help: 'per-node deadline in seconds, connection included' },
  { path: 'collect.retention_days', type: int(1, 3650), default: 14, help: 'facts older than this are pruned' },
  {
    path: 'collect.interval',
    type: int(60, 30 * 86400),
    default: 3600,
    help: 'seconds between collections you intend (the dashboard marks older facts stale)',
  },
  { path: 'health.min_free_disk_mb', type: num(0, 1e9), default: 1024, help: 'less free space in the workdir: degraded' },
  { path: 'health.min_free_inodes', type: int(0, 1e12), default: 10000, help: 'fewer free inodes: degraded' },
  { path: 'health.max_load_per_cpu', type: num(0, 1e6), default: 4, help: 'higher 1-minute load per CPU: degraded' },
  {
    path: 'schedule.max_per_arch',
    type: int(0, 10_000_000),
    default: 500,
    help: 'the scheduler fills each suite/architecture up to this many waiting entries',
  },
  { path: 'schedule.min_age_days', type: num(0, 3650), default: 30, help: 'results older than this are rebuilt when there is room' },
  { path: 'schedule.retry_failed_days', type: num(0, 3650), default: 3, help: 'FTBFS/depwait results older than this are retried first' },
  { path: 'schedule.manual_daily_limit', type: int(0, 10_000_000), default: 1000, help: 'manual requests allowed per 24 hours' },
  { path: 'schedule.default_priority', type: int(1, 1000), default: 100, help: 'priority of `reprofarm schedule` without `--priority`' },
  {
    path: 'blacklist',
    type: { kind: 'list', re: /^[a-z0-9][a-z0-9+.-]{1,99}$/, what: 'a source package name', allowEmpty: true, set: true },
    default: [],
    help: 'source packages never built (status `blacklisted`)',
  },
  {
    path: 'package_sets',
    type: { kind: 'packageSets' },
    shown: 'none',
    help: 'package sets for notify `sets` and the sets/ pages; a file: one name a line, `#` comments',
  },

  {
    path: 'build.command',
    type: text({ max: MAX_BUILD_COMMAND_BYTES, bytes: true, why: 'node-build.sh runs it as one argument of sh -c, and Linux refuses long ones' }),
    default: 'dpkg-buildpackage -us -uc -b',
    help: 'the build backend, run in the unpacked tree on the node',
  },
  {
    path: 'build.backend',
    type: text({ re: /^(plain|chroot)$/, what: '"plain" or "chroot"' }),
    default: 'plain',
    help: "`plain`: build.command on the node itself, with what it has installed; `chroot`: build.command in a fresh unprivileged chroot per build, made from the node's tarball of the suite (`reprofarm chroot update`), with the Build-Depends installed from the archive",
  },
  {
    path: 'build.timeout_build1',
    as: 'timeout1',
    type: num(1, 7 * 86400),
    default: 18 * 3600,
    shown: '`64800` (18 h)',
    help: 'seconds; the whole process tree is stopped after it',
  },
  { path: 'build.timeout_build2', as: 'timeout2', type: num(1, 7 * 86400), default: 24 * 3600, shown: '`86400` (24 h)', help: 'seconds, for build 2' },
  {
    path: 'build.node_mirror',
    type: { kind: 'url' },
    default: ({ config }) => config.mirror,
    shown: 'the value of `mirror`',
    help: 'the mirror as the nodes reach it: http(s)://, file:// or a path on the node',
  },
  { path: 'build.diffoscope_timeout', type: num(1, 86400), default: 1800, help: 'seconds' },
  { path: 'build.diffoscope_max_bytes', type: int(1024, 1e10), default: 20 * 1024 * 1024, help: 'diffoscope report size limit' },
  {
    path: 'build.max_result_mb',
    as: 'maxResultBytes',
    scale: 1024 * 1024,
    type: int(1, 1024 * 1024),
    default: 16384,
    help: 'at most this many MiB of results are fetched from one build (all its files, sizes read before copying); more, and the build is given back',
  },
  {
    path: 'build.max_metadata_kb',
    as: 'maxMetadataBytes',
    scale: 1024,
    type: int(1, 1024 * 1024),
    default: 1024,
    help: 'at most this many KiB for each of `status`, `SHA256SUMS`, `.changes` and `.buildinfo` (read whole on the main node); more, and the results are refused before they are fetched',
  },
  {
    path: 'build.max_attempts',
    type: int(1, 100),
    default: 3,
    help: 'failures of one kind (results refused, a build that never ends) after which a package version is recorded with the reason and not retried until a new version or a manual `schedule`',
  },

  {
    path: 'chroot.mirror',
    type: { kind: 'url' },
    default: ({ config }) => config.build?.nodeMirror,
    shown: 'the value of `build.node_mirror`',
    help: "where the nodes' chroots come from, and where a chroot build installs its Build-Depends from (http(s)://, file:// or a path on the node)",
  },
  {
    path: 'chroot.keyring',
    type: PATH,
    default: ({ config }) => config.mirrorKeyring,
    shown: 'the value of `mirror_keyring`',
    help: "keyring that chroot.mirror's Release files must be signed with (copied to each node for mmdebstrap)",
  },
  {
    path: 'chroot.base',
    type: { kind: 'suiteMap' },
    default: () => ({}),
    shown: '`{}`',
    help: 'overlay suites: `{ experimental: unstable }` makes the experimental chroot from unstable with experimental added to its sources',
  },
  {
    path: 'chroot.max_age_days',
    type: num(0, 3650),
    default: 7,
    help: '`chroot update` refreshes a tarball older than this; a younger one is kept unless `--force`',
  },

  {
    path: 'culprit.max_builds_per_day',
    type: int(0, 100000),
    default: 200,
    help: 'follow-up builds the culprit search may start in 24 hours, farm-wide (0: no searches; hints still name culprits); a search past it waits',
  },
  {
    path: 'culprit.max_builds_per_package',
    type: int(0, 1000),
    default: 16,
    help: "follow-up builds one package version's search may take (the control, then halving the variations); past it the verdict is `unknown`",
  },

  {
    path: 'timers.build',
    type: CRON,
    default: '* * * * *',
    help: 'when the Jenkins and cron jobs run `build NODE1 NODE2` for each job (systemd runs the worker instead)',
  },
  { path: 'timers.collect', type: CRON, default: '*/15 * * * *', help: 'when the generated jobs run `collect`' },
  { path: 'timers.sync', type: CRON, default: '17 */6 * * *', help: 'when they run `sync`' },
  { path: 'timers.site', type: CRON, default: '*/10 * * * *', help: 'when they run `site`' },
  { path: 'timers.cleanup', type: CRON, default: '40 * * * *', help: 'when they run `cleanup`' },
  {
    path: 'timers.chroot',
    type: CRON,
    default: '23 4 * * *',
    help: 'when they run `chroot update` (with `build.backend: chroot` only), which remakes the chroots older than `chroot.max_age_days`',
  },
  {
    path: 'service.user',
    type: text({ re: USER_RE, what: 'a user name' }),
    default: () => currentUser(),
    shown: 'the user running `reprofarm jobs`',
    help: "`User=` of the systemd units, the crontab's user",
  },
  {
    path: 'service.node',
    type: text(),
    default: () => process.execPath,
    shown: 'the running Node.js',
    help: 'the node binary the generated jobs run reprofarm with (absolute)',
  },
  { path: 'service.stop_timeout', type: int(1, 86400), default: 300, help: 'seconds the worker gets to stop after SIGTERM (`TimeoutStopSec=`)' },
  {
    path: 'cleanup.results_retention_days',
    type: num(1, 36500),
    default: 30,
    help: "result directories older than this are pruned by `cleanup` (never a current result's)",
  },
  {
    path: 'notes_dir',
    type: PATH,
    help: 'a reproducible-notes checkout (packages.yml, issues.yml), imported on each `site` render (default: none; see `notes import`)',
  },
  { path: 'site.recent_builds', type: int(1, 100_000), default: 100, help: "how many of a job's latest builds the variation table counts" },
  {
    path: 'site.vary_facts',
    type: { kind: 'list', re: /^[A-Z][A-Z0-9_]{0,63}$/, what: 'a fact name (KEY of info.sh)', allowEmpty: true },
    default: ['HOSTNAME', 'KERNEL', 'NUM_CPU'],
    help: "node facts a job's two nodes should differ in; the variation table flags a job whose nodes do not",
  },
  { path: 'worker.idle_sleep', type: num(0.1, 86400), default: 60, help: 'seconds a worker loop sleeps when nothing is scheduled' },
  { path: 'worker.grace', type: num(0, 7 * 86400), default: 240, help: 'seconds running builds may take to finish after SIGTERM before they are aborted' },
  {
    path: 'worker.backoff_max',
    type: num(1, 86400),
    default: 900,
    help: 'the longest wait, in seconds, before retrying a job whose nodes failed (from 30 s, doubling)',
  },
  {
    path: 'sync.max_expansion',
    type: num(1, 1000),
    default: 20,
    help: 'a Sources index may decompress to at most this many times its compressed size; more, and the suite is refused',
  },
  {
    path: 'sync.max_line_bytes',
    type: int(1024, 256 * 1024 * 1024),
    default: 1024 * 1024,
    help: 'longest line of a Sources index, bytes; a longer one refuses the suite',
  },
  {
    path: 'sync.max_stanza_bytes',
    type: int(4096, 1024 * 1024 * 1024),
    default: 8 * 1024 * 1024,
    help: 'largest stanza of a Sources index, bytes; a larger one refuses the suite',
  },

  {
    path: 'notify.webhooks',
    type: { kind: 'webhooks' },
    shown: 'none',
    help: 'webhooks told of status changes: `[{ url, secret_file, packages, maintainers, sets }]`; a JSON POST signed with HMAC-SHA256 of the secret in secret_file (not readable by every user); packages, maintainers and sets opt in to some packages only',
  },
  {
    path: 'notify.mail.sendmail',
    type: PATH,
    default: '/usr/sbin/sendmail',
    help: 'the sendmail program mail goes through (run with `-t -oi`, never a shell)',
  },
  {
    path: 'notify.mail.to',
    type: { kind: 'list', re: EMAIL_RE, what: 'a mail address', allowEmpty: true },
    default: [],
    help: 'who is mailed status changes; empty: no mail',
  },
  { path: 'notify.mail.from', type: text({ re: EMAIL_RE, what: 'a mail address' }), shown: "sendmail's", help: 'the From: of the mails' },
  {
    path: 'notify.mail.packages',
    type: { kind: 'list', re: PACKAGE_RE, what: 'a source package name', allowEmpty: true },
    default: [],
    help: "mail only about these packages (or the maintainers' or sets' below)",
  },
  {
    path: 'notify.mail.maintainers',
    type: { kind: 'list', re: EMAIL_RE, what: 'a mail address', allowEmpty: true },
    default: [],
    help: 'mail only about the packages these maintainers or uploaders have (Sources)',
  },
  {
    path: 'notify.mail.sets',
    type: { kind: 'list', re: SET_RE, what: 'a package set name', allowEmpty: true },
    default: [],
    help: 'mail only about the packages of these package sets',
  },
  {
    path: 'notify.site_url',
    type: { kind: 'url' },
    shown: 'none: links relative to the site',
    help: "the dashboard's address, for the links in messages (http:// or https://)",
  },
  {
    path: 'notify.max_messages_per_hour',
    type: int(1, 100_000),
    default: 12,
    help: 'messages (webhook POSTs, mails) per destination in an hour; past it, events wait for the next run',
  },
  { path: 'notify.max_events_per_message', type: int(1, 10_000), default: 100, help: 'status changes batched in one message' },
  { path: 'notify.timeout', type: num(1, 600), default: 10, help: 'seconds a webhook POST or a sendmail may take' },
  { path: 'notify.retry_base', type: num(1, 86400), default: 60, help: "seconds before a failed message's events are tried again, doubling with each failure" },
  { path: 'notify.retry_max', type: num(1, 7 * 86400), default: 6 * 3600, shown: '`21600` (6 h)', help: 'the longest wait, seconds, between two tries' },
  { path: 'notify.keep_days', type: int(1, 3650), default: 30, help: 'delivered events older than this are pruned' },
];

/** The key's row; throws for a path the table does not have (a typo in code, not in a file). */
export function schemaKey(path: string): Key {
  const k = SCHEMA.find((r) => r.path === path);
  if (!k) throw new Error(`core/config/schema.ts has no key ${path}`);
  return k;
}

/** A constant default, as a value (not for keys whose default is computed). */
export function defaultValue(path: string): string | number | boolean | readonly string[] {
  const d = schemaKey(path).default;
  if (d === undefined || typeof d === 'function') throw new Error(`${path} has no constant default`);
  return d;
}

/** A default as --help shows it: "collect.concurrency, 16". */
export function helpDefault(path: string): string {
  const d = defaultValue(path);
  return `${path}, ${Array.isArray(d) ? `[${d.join(', ')}]` : String(d)}`;
}
