/**
 * The checks that look beyond one key's type and bounds, each a small named
 * rule at the key path it checks (a path of core/config/schema.ts). The walk
 * (core/config/parse.ts) runs a rule right after it has read that key, so its
 * problems are listed in their place among all the others:
 * - at a key: with the value read (its default when it was refused);
 * - at `nodes.<NAME>` or `jobs.<NAME>`: with the entry's NAME, before the
 *   entry is read; an entry whose name a rule refuses is not read;
 * - at a section (`sync`) or at `nodes`/`jobs`: once all of it has been read.
 * A rule is not run on a key that has no value (a required key left out).
 */
import { isAbsolute, resolve } from 'node:path';
import { excerpt } from '../errors.js';
import { NODE_RESERVED_NAMES } from '../protocol.js';
import { URL_RE } from './schema.js';
import { isObj, type Config, type NodeConfig, type Obj, type SyncSettings, type WebhookConfig } from './types.js';

export interface RuleContext {
  /** the key path as printed: nodes.build1-amd64.workdir */
  at: string;
  /** the key is in the file, not left to its default */
  given: boolean;
  /** the entry (nodes.<NAME>, jobs.<NAME>) the key belongs to */
  name: string | undefined;
  /** what is read so far of the entry or section the key belongs to (a node's transport, for its workdir) */
  record: Readonly<Obj>;
  /** the configuration read so far: every key before this one in the table */
  config: Readonly<Partial<Config>>;
  /** the file's top level, as written */
  top: Readonly<Obj>;
  /** a problem at `at` (or at another key path) */
  err(msg: string, at?: string): void;
  warn(msg: string): void;
}

export interface Rule {
  name: string;
  /** the key path the rule checks, as in the schema */
  at: string;
  /** one line for docs/configuration.md */
  help: string;
  check(value: unknown, ctx: RuleContext): void;
}

/** A rule whose value is what the key at `at` holds (the walk passes it). */
function rule<V>(name: string, at: string, help: string, check: (value: V, ctx: RuleContext) => void): Rule {
  return { name, at, help, check };
}

/** Folders at the dashboard's root, beside one folder per suite. */
export const RESERVED_SUITES: readonly string[] = [
  'static',
  'rb-pkg',
  'logs',
  'dbd',
  'node-information',
  'issues',
  'maintainers',
  'sets',
  'api',
  'attestations',
  'keys',
];

/** What node-build.sh keeps in each of its folders beside the nodes' own (core/protocol.ts NODE_RESERVED_NAMES). */
const NODE_BUILD_FOLDERS: Record<(typeof NODE_RESERVED_NAMES)[number], string> = {
  pending: 'the builds in progress',
  sources: 'the downloaded sources',
  chroot: 'the chroot builds in progress',
};

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
  if (bad)
    return `${excerpt(w, 200)} has a character node-build.sh refuses (${excerpt(bad[0])}); use only letters, digits and . _ / + - (it is used in commands on the node)`;
  if (/(^|\/)\.\.(\/|$)/.test(w)) return 'must not contain ".."';
  if (w === '/') return '"/" cannot be a workdir (node-wrapper.sh, the forced command, refuses it); use a directory of its own, like /srv/workspace';
  if (/\/\/|\/\.(\/|$)|\/$/.test(w)) {
    return `${excerpt(w, 200)} is not a plain absolute path: no "//", "." or ".." parts and no "/" at the end (node-wrapper.sh, the forced command, refuses them); write ${excerpt(resolve(w), 200)}`;
  }
  return undefined;
}

/** What node-build.sh downloads from (its fetch: http://, https://, file://, a path). */
const FETCHABLE_RE = /^(https?|file):\/\//;

/** A few names, then a count: a message about one of 30,000 nodes stays short. */
function some(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

/** "a, b or c" */
function either(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1] ?? ''}`;
}

/** The configured nodes, for messages: listed once per configuration, not once per job. */
const nodeLists = new WeakMap<ReadonlyMap<string, NodeConfig>, string>();
function nodeList(nodes: ReadonlyMap<string, NodeConfig>): string {
  let s = nodeLists.get(nodes);
  if (s === undefined) {
    s = nodes.size === 0 ? 'none' : some([...nodes.keys()]);
    nodeLists.set(nodes, s);
  }
  return s;
}

/** The nodes: mapping as written ({} when it is not one). */
const writtenNodes = (ctx: RuleContext): Obj => (isObj(ctx.top.nodes) ? ctx.top.nodes : {});

/** A filter naming a set that is not configured would silently match nothing (a typo). */
function unknownSets(sets: readonly string[], at: string, ctx: RuleContext): void {
  const known = ctx.config.packageSets ?? new Map<string, Set<string>>();
  const list = known.size > 0 ? `package_sets: ${[...known.keys()].join(', ')}` : 'no package_sets are configured';
  sets.forEach((s, i) => {
    if (!known.has(s)) ctx.err(`"${s}" is not a configured package set (${list})`, `${at}[${i}]`);
  });
}

export const RULES: readonly Rule[] = [
  rule<string>('mirrorFetchable', 'mirror', 'a mirror URL is http://, https:// or file://', (mirror, ctx) => {
    if (URL_RE.test(mirror) && !FETCHABLE_RE.test(mirror)) ctx.err(`${excerpt(mirror)}: only http://, https://, file:// or a path are supported`);
  }),
  rule<boolean>('unverifiedMirrorWarned', 'mirror_verify', '`mirror_verify: false` is warned of', (verify, ctx) => {
    if (!verify) ctx.warn("mirror_verify: false: the mirror's Release signature will not be checked");
  }),
  rule<string[]>(
    'suitesNotDashboardFolders',
    'suites',
    `no suite is named ${either(RESERVED_SUITES)}: the dashboard keeps folders of those names beside the suites' folders`,
    (suites, ctx) => {
      for (const s of suites) {
        if (RESERVED_SUITES.includes(s))
          ctx.err(`"${s}" cannot be a suite name: the dashboard has a folder of that name beside the suites' (${RESERVED_SUITES.join(', ')} are taken)`);
      }
    },
  ),
  rule<string>(
    'nodeNamesNotNodeBuildFolders',
    'nodes.<NAME>',
    `no node is named ${either(NODE_RESERVED_NAMES)}: node-build.sh keeps folders of those names beside the nodes' folders`,
    (name, ctx) => {
      if (Object.hasOwn(NODE_BUILD_FOLDERS, name)) {
        const what = NODE_BUILD_FOLDERS[name as keyof typeof NODE_BUILD_FOLDERS];
        ctx.err(`"${name}" cannot be a node name: node-build.sh keeps ${what} in WORKDIR/reproducible-builds/${name}, beside each node's folder`);
      }
    },
  ),
  rule<string>(
    'workdirsNodeScriptsAccept',
    'nodes.<NAME>.workdir',
    'a workdir is what node-build.sh and node-wrapper.sh accept: absolute, letters, digits and `. _ / + -` only, no `..`; for ssh nodes no `//`, `.` part or `/` at the end',
    (workdir, ctx) => {
      const problem = workdir ? workdirProblem(workdir) : undefined;
      // a local node's default one (under state_dir) is only warned of: every command but a build on it still works
      if (problem && (ctx.given || ctx.record.transport === 'ssh')) ctx.err(problem);
    },
  ),
  rule<ReadonlyMap<string, NodeConfig>>('nodesConfigured', 'nodes', 'at least one node is configured', (_nodes, ctx) => {
    if (Object.keys(writtenNodes(ctx)).length === 0) ctx.err('no nodes configured; add at least two (see README.md, "Adding a node")');
  }),
  rule<ReadonlyMap<string, NodeConfig>>(
    'defaultWorkdirsWarned',
    'nodes',
    'local nodes whose default workdir lies under a state_dir node-build.sh would refuse are warned of (they cannot build)',
    (nodes, ctx) => {
      const written = writtenNodes(ctx);
      const refused = [...nodes.values()]
        .filter((n) => {
          const entry = written[n.name];
          const given = isObj(entry) && entry.workdir !== undefined && entry.workdir !== null;
          return n.transport === 'local' && !given && n.workdir !== '' && workdirProblem(n.workdir) !== undefined;
        })
        .map((n) => n.name);
      if (refused.length === 0) return;
      ctx.warn(
        `state_dir: ${workdirProblem(ctx.config.stateDir ?? '') ?? ''}: the local nodes ${some(refused)} keep their default workdir under it (state_dir/nodes/<NAME>), where node-build.sh refuses to build; set nodes.<NAME>.workdir for them`,
      );
    },
  ),
  rule<[string, string]>('jobsNameConfiguredNodes', 'jobs.<NAME>.nodes', "a job's nodes are configured nodes", (pair, ctx) => {
    const nodes = ctx.config.nodes ?? new Map<string, NodeConfig>();
    const written = writtenNodes(ctx);
    for (const [i, n] of pair.entries()) {
      if (!nodes.has(n) && !Object.hasOwn(written, n)) ctx.err(`${excerpt(n)} is not a configured node (nodes: ${nodeList(nodes)})`, `${ctx.at}[${i}]`);
    }
  }),
  rule<[string, string]>('jobsUseTwoNodes', 'jobs.<NAME>.nodes', "a job's two builds are on two different nodes", ([a, b], ctx) => {
    if (a === b) ctx.err(`both builds on ${excerpt(a)}: a job needs two different nodes`);
  }),
  rule<string>('nodeMirrorFetchable', 'build.node_mirror', 'a node mirror URL is one node-build.sh downloads from: http://, https:// or file://', (m, ctx) => {
    // else every build would end E404
    if (ctx.given && URL_RE.test(m) && !FETCHABLE_RE.test(m)) ctx.err(`${excerpt(m)}: node-build.sh downloads only from http://, https://, file:// or a path`);
  }),
  rule<string>('nodeMirrorOneWord', 'build.node_mirror', 'the node mirror (given, or the mirror) has no spaces or quotes', (m, ctx) => {
    if (/[\s'"\\]/.test(m)) ctx.err('must not contain spaces or quotes');
  }),
  rule<string>('serviceNodeAbsolute', 'service.node', 'service.node is an absolute path', (node, ctx) => {
    if (!isAbsolute(node)) ctx.err(`${excerpt(node)} must be an absolute path (systemd runs it without a PATH search)`);
  }),
  rule<string>('siteUrlHttp', 'notify.site_url', "notify.site_url is an http:// or https:// address (the messages' links)", (url, ctx) => {
    if (!/^https?:\/\//.test(url)) ctx.err(`${excerpt(url)}: write the dashboard's http:// or https:// address`);
  }),
  rule<WebhookConfig[]>('webhookSetsConfigured', 'notify.webhooks', "a webhook's `sets` are package_sets", (hooks, ctx) => {
    for (const w of hooks) unknownSets(w.sets, `${w.at}.sets`, ctx);
  }),
  rule<string[]>('mailSetsConfigured', 'notify.mail.sets', 'notify.mail.sets are package_sets', (sets, ctx) => unknownSets(sets, ctx.at, ctx)),
  rule<SyncSettings>('stanzaHoldsALine', 'sync', 'sync.max_stanza_bytes is at least sync.max_line_bytes', (sync, ctx) => {
    if (sync.maxStanzaBytes < sync.maxLineBytes) {
      ctx.err(`${sync.maxStanzaBytes} is less than sync.max_line_bytes (${sync.maxLineBytes}); a stanza holds at least one line`, 'sync.max_stanza_bytes');
    }
  }),
];
