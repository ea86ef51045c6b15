/**
 * The build protocol, written down once: what the main node and
 * builder/node-build.sh agree on. node-build.sh's exit codes and what each
 * means, the work order's keys, every variation (its build 1 and build 2
 * defaults and the pattern a value must match), and both directory layouts
 * (a node's workdir, the main node's state_dir). The work order carries every
 * variation's value: node-build.sh checks and applies them and keeps no
 * defaults of its own. test/unit/protocol.test.ts reads node-build.sh and
 * checks that its exit codes and value checks agree with this module.
 */
import { join } from 'node:path';
import type { Status } from './statuses.js';

/** node-build.sh's exit codes (the EX_* constants at its top). */
export const NODE_EXIT = {
  built: 0,
  usage: 2,
  taken: 70,
  E404: 71,
  sourceMismatch: 72,
  FTBFS: 73,
  timeout: 74,
  error: 75,
  depwait: 76,
  staleScript: 99,
} as const;

/** What a single build's exit code says (the `result` of a build run), for the codes that end a build. */
export const BUILD_RESULTS: ReadonlyMap<number, string> = new Map([
  [NODE_EXIT.built, 'built'],
  [NODE_EXIT.taken, 'taken'],
  [NODE_EXIT.E404, 'E404'],
  [NODE_EXIT.sourceMismatch, 'source-mismatch'],
  [NODE_EXIT.FTBFS, 'FTBFS'],
  [NODE_EXIT.timeout, 'timeout'],
  [NODE_EXIT.depwait, 'depwait'],
]);

/** The package status a failed single build gives the pair. */
export function failureStatus(result: string): Status {
  switch (result) {
    case 'E404':
      return 'E404';
    case 'source-mismatch':
      return 'source-mismatch';
    case 'timeout':
      return 'timeout';
    case 'depwait':
      return 'depwait';
    default:
      return 'FTBFS';
  }
}

/** The work order's keys, in the order they are written; then one V_<KEY> line per variation. */
export const WORK_ORDER_KEYS = [
  'SOURCE',
  'VERSION',
  'SUITE',
  'ARCH',
  'DSC_URL',
  'DSC_SHA256',
  'BUILD',
  'JOB',
  'NODE',
  'BUILD_COMMAND',
  'BACKEND',
  'TIMEOUT',
  'NUM_CPU',
  'MIN_FREE_MB',
] as const;
export type WorkOrderKey = (typeof WORK_ORDER_KEYS)[number];

export interface Variation {
  key: string;
  build1: string;
  build2: string;
  /** what a value must match, here and (as a shell pattern) in node-build.sh */
  re: RegExp;
  what: string;
  /** values the pattern refuses: the agreement test runs them through node-build.sh too */
  refused: readonly string[];
}

/**
 * The variations (`jobs.<NAME>.variations.build1|build2` may change any).
 * `unset` leaves a variable out of the build's environment; HOSTNAME and
 * DOMAINNAME `node` keep the node's own; PARALLEL `node` is the node's CPU
 * count, `node+1` one more; DATE `real` is the real clock, else a faketime
 * time specification (with NO_FAKE_STAT=1).
 */
export const VARIATIONS: readonly Variation[] = [
  {
    key: 'TZ',
    build1: 'Etc/GMT+12',
    build2: 'Etc/GMT-14',
    re: /^[A-Za-z0-9/_+-]{1,64}$/,
    what: 'a time zone like Etc/GMT-14 or Europe/Tallinn',
    refused: ['', 'Etc/GMT 12', '$(id)'],
  },
  {
    key: 'DATE',
    build1: 'real',
    build2: '+398 days +6 hours +23 minutes',
    re: /^(real|@\d{1,12}|\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d)?|([+-]\d{1,6} (year|month|week|day|hour|minute|second)s?)( [+-]\d{1,6} (year|month|week|day|hour|minute|second)s?){0,5})$/,
    what: '"real", "@EPOCH", "YYYY-MM-DD[ HH:MM:SS]" or offsets like "+398 days +6 hours"',
    refused: ['', 'tomorrow;id', '+1 days $(id)'],
  },
  { key: 'LANG', build1: 'C', build2: 'et_EE.UTF-8', re: /^[A-Za-z0-9_.@-]{1,64}$/, what: 'a locale like C or et_EE.UTF-8', refused: ['', 'et EE', 'C;id'] },
  { key: 'LC_ALL', build1: 'unset', build2: 'et_EE.UTF-8', re: /^(unset|[A-Za-z0-9_.@-]{1,64})$/, what: 'a locale, or "unset"', refused: ['', 'a b'] },
  { key: 'LANGUAGE', build1: 'en_US:en', build2: 'et_EE:et', re: /^[A-Za-z0-9_.@:-]{1,128}$/, what: 'a list like et_EE:et', refused: ['', 'et EE'] },
  {
    key: 'TERM',
    build1: 'unset',
    build2: 'linux',
    re: /^(unset|[A-Za-z0-9._+-]{1,32})$/,
    what: 'a terminal type like linux, or "unset"',
    refused: ['', 'x term'],
  },
  { key: 'COLUMNS', build1: 'unset', build2: '77', re: /^(unset|[1-9]\d{0,3})$/, what: 'a number of columns, or "unset"', refused: ['', '0', '77x', '-1'] },
  { key: 'UMASK', build1: '0022', build2: '0002', re: /^0[0-7]{3}$/, what: 'an octal umask like 0022', refused: ['', '022', '0088', '00022'] },
  // no ".." anywhere, not only as a whole part: node-build.sh refuses `*..*`
  {
    key: 'HOME',
    build1: '/nonexistent/first-build',
    build2: '/nonexistent/second-build',
    re: /^\/(?!.*\.\.)[A-Za-z0-9._/+-]{0,200}$/,
    what: 'an absolute path without ".."',
    refused: ['', 'relative', '/a/../b', '/a b'],
  },
  {
    key: 'PATH',
    build1: '/usr/sbin:/usr/bin:/sbin:/bin',
    build2: '/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path',
    re: /^\/(?!.*\.\.)[A-Za-z0-9._/+:-]{0,500}$/,
    what: 'a PATH of absolute directories without ".."',
    refused: ['', 'bin', '/bin:/x/../y', '/bin /x'],
  },
  {
    key: 'CAPTURE_ENVIRONMENT',
    build1: 'unset',
    build2: 'I capture the environment',
    re: /^(unset|[A-Za-z0-9 ._+-]{1,100})$/,
    what: 'letters, digits, spaces and . _ + -, or "unset"',
    refused: ['', 'a;b', '$(id)'],
  },
  {
    key: 'HOSTNAME',
    build1: 'node',
    build2: 'i-capture-the-hostname',
    re: /^(node|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)$/,
    what: 'a host name label, or "node" (the node\'s own)',
    refused: ['', '-x', 'a.b', 'a_b'],
  },
  {
    key: 'DOMAINNAME',
    build1: 'node',
    build2: 'i-capture-the-domain',
    re: /^(node|[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?)$/,
    what: 'a domain name, or "node" (the node\'s own)',
    refused: ['', '-x', 'a_b'],
  },
  {
    key: 'PARALLEL',
    build1: 'node',
    build2: 'node+1',
    re: /^(node|node\+1|[1-9]\d{0,3})$/,
    what: '"node", "node+1" or a number of jobs',
    refused: ['', '0', 'node+2', '1e3'],
  },
  {
    key: 'BUILD_USER',
    build1: 'pbuilder1:1111:first user,first room,first work-phone,first home-phone:/bin/sh',
    build2: 'pbuilder2:2222:second user,second room,second work-phone,second home-phone:/bin/bash',
    re: /^[a-z_][a-z0-9_-]{0,31}:[1-9]\d{2,4}:[A-Za-z0-9 ,.-]{0,100}:\/(?!.*\.\.)[A-Za-z0-9._/-]{1,100}$/,
    what: 'NAME:UID:GECOS:SHELL, like pbuilder2:2222:second user,second room:/bin/bash (uid and gid are the same, 100 to 65535)',
    refused: ['', 'root', 'Pbuilder:1111::/bin/sh', 'p:0::/bin/sh', 'p:1111:a;b:/bin/sh', 'p:1111::sh', 'p:1111::/bin/../sh'],
  },
  {
    key: 'BINSH',
    build1: 'dash',
    build2: 'bash',
    re: /^(dash|bash)$/,
    what: '"dash" or "bash": what /bin/sh is in the chroot',
    refused: ['', 'zsh', '/bin/bash'],
  },
  { key: 'NICE', build1: '10', build2: '11', re: /^(1?\d)$/, what: 'a niceness from 0 to 19', refused: ['', '-1', '20', '1.5'] },
  {
    key: 'NOCHECK',
    build1: 'unset',
    build2: 'nocheck',
    re: /^(unset|nocheck)$/,
    what: '"nocheck" (added to DEB_BUILD_OPTIONS), or "unset"',
    refused: ['', 'yes'],
  },
  {
    key: 'KERNEL_PERSONALITY',
    build1: 'native',
    build2: 'linux64 --uname-2.6',
    re: /^(native|linux(32|64)( --uname-2\.6)?)$/,
    what: '"native", or linux64 / linux32, optionally with --uname-2.6 (setarch from util-linux)',
    refused: ['', 'linux64 --uname-3', 'i386'],
  },
  {
    key: 'FILEORDERING',
    build1: 'native',
    build2: 'disorderfs --shuffle-dirents',
    re: /^(native|disorderfs --shuffle-dirents|disorderfs --reverse-dirents)$/,
    what: '"native", "disorderfs --shuffle-dirents" or "disorderfs --reverse-dirents"',
    refused: ['', 'disorderfs', 'shuffle'],
  },
  // the status file records the directory itself (VAR_BUILD_PATH)
  {
    key: 'BUILD_PATH',
    build1: '1st',
    build2: '2nd',
    re: /^(1st|2nd)$/,
    what: '"1st" (the build in <root>/1st/PKG-VERSION) or "2nd" (<root>/2/PKG-VERSION/2nd)',
    refused: ['', '3rd', '/build'],
  },
];
export const VARIATION_KEYS: ReadonlyMap<string, Variation> = new Map(VARIATIONS.map((v) => [v.key, v]));

/** The build backends: `plain` runs build.command on the node itself; `chroot` in a fresh chroot per build, from the node's tarball of the suite. */
export const BACKENDS = ['plain', 'chroot'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Every variation's value for build n: the defaults, with the job's own over them. */
export function variationValues(n: 1 | 2, job: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of VARIATIONS) out[v.key] = job[v.key] ?? (n === 1 ? v.build1 : v.build2);
  return out;
}

/** A package version's place under each node folder: SUITE/ARCH/PKG/VERSION. */
export function packagePath(suite: string, arch: string, pkg: string, version: string): string {
  return `${suite}/${arch}/${pkg}/${version}`;
}

type Rel = Readonly<{ suite: string; arch: string; package: string; version: string }>;
const rel = (c: Rel): string => packagePath(c.suite, c.arch, c.package, c.version);

/** Where node-build.sh keeps things under a node's workdir (POSIX paths: the node is not this machine). */
export const NODE_LAYOUT = {
  script: (workdir: string): string => `${workdir}/bin/reprofarm-node-build.sh`,
  /** the work order as copied in */
  order: (workdir: string, node: string, c: Rel): string => `${workdir}/reproducible-builds/${node}/${rel(c)}`,
  /** where node-build.sh moves the order at once, with .pid, .prepared and .resumed beside it */
  pending: (workdir: string, c: Rel): string => `${workdir}/reproducible-builds/pending/${rel(c)}`,
  sources: (workdir: string, build: 1 | 2, c: Rel): string => `${workdir}/reproducible-builds/sources/${build}/${rel(c)}`,
  results: (workdir: string, node: string, c: Rel): string => `${workdir}/reproducible-results/${node}/${rel(c)}`,
  /** the chroot backend's tarballs, one per suite and architecture (made by `reprofarm chroot update`) */
  chroots: (workdir: string): string => `${workdir}/chroots`,
  chroot: (workdir: string, suite: string, arch: string): string => `${workdir}/chroots/${suite}-${arch}.tar.zst`,
  /** where a chroot build unpacks its tarball and builds */
  chrootRoot: (workdir: string, build: 1 | 2, c: Rel): string => `${workdir}/reproducible-builds/chroot/${build}/${rel(c)}`,
} as const;

/** The names node-build.sh keeps beside the nodes' own folders under reproducible-builds/: no node may be called so. */
export const NODE_RESERVED_NAMES = ['pending', 'sources', 'chroot'] as const;

/** Where the main node keeps things under state_dir. */
export const STATE_LAYOUT = {
  db: (stateDir: string): string => join(stateDir, 'reproducible.db'),
  nodeInformation: (stateDir: string, node?: string): string =>
    node === undefined ? join(stateDir, 'node-information') : join(stateDir, 'node-information', node),
  /** the work order as the main node wrote it: what is in flight */
  order: (stateDir: string, node: string, c: Rel): string => join(stateDir, 'builds', node, rel(c)),
  builds: (stateDir: string): string => join(stateDir, 'builds'),
  results: (stateDir: string, node: string, c: Rel): string => join(stateDir, 'results', node, rel(c)),
  resultsRoot: (stateDir: string): string => join(stateDir, 'results'),
  /** diffoscope's reports: <base>.diffoscope.txt and .html */
  reportBase: (stateDir: string, c: Rel): string => join(stateDir, 'reports', c.suite, c.arch, `${c.package}_${c.version}`),
  reportsRoot: (stateDir: string): string => join(stateDir, 'reports'),
  /** a culprit search's follow-up build, fetched for the comparison and removed after it */
  culpritResults: (stateDir: string, c: Rel): string => join(stateDir, 'culprit', rel(c)),
  /** a pair's record that could not be written, kept for the next claim */
  unrecorded: (stateDir: string, c: Rel): string => join(stateDir, 'unrecorded', `${rel(c)}.json`),
  /** the farm's signing keys (attest/keys.ts): the private key, mode 0600, never copied into the site */
  keys: (stateDir: string): string => join(stateDir, 'keys'),
  signingKey: (stateDir: string): string => join(stateDir, 'keys', 'signing.key'),
  keyIndex: (stateDir: string): string => join(stateDir, 'keys', 'index.json'),
} as const;
