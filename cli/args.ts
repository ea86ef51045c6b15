/** Command-line parsing: global options, per-command options, usage errors with suggestions. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { helpDefault } from '../core/config/schema.js';
import { UsageError } from '../core/errors.js';
import { suggest } from '../core/suggest.js';

export { suggest };

type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { help: string; value?: string };

export interface CommandSpec {
  name: string;
  synopsis: string;
  summary: string;
  options: Record<string, OptionSpec>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    short: 'c',
    value: 'FILE',
    help: 'configuration file (default: $REPROFARM_CONFIG, else ./reprofarm.yaml, else the embedded default)',
  },
  json: { type: 'boolean', help: 'machine-readable output on stdout; human output stays on stderr (default: off)' },
  verbose: { type: 'boolean', short: 'v', help: 'more detail on stderr (default: off)' },
  quiet: { type: 'boolean', short: 'q', help: 'only problems and the summary on stderr (default: off)' },
  help: { type: 'boolean', short: 'h', help: 'show this help (default: off)' },
};

export const COMMANDS: CommandSpec[] = [
  {
    name: 'collect',
    synopsis: 'collect [NODE...] [--concurrency N] [--timeout SEC]',
    summary: 'run the info script on every (or the named) node; write node-information files and record facts and health',
    options: {
      concurrency: { type: 'string', value: 'N', help: `nodes at once (default: ${helpDefault('collect.concurrency')})` },
      timeout: { type: 'string', value: 'SEC', help: `per-node deadline in seconds, connection included (default: ${helpDefault('collect.timeout')})` },
    },
  },
  {
    name: 'sync',
    synopsis: 'sync [SUITE...]',
    summary: "read the mirror's Release and Sources indexes, record known sources, fill the schedule by policy",
    options: {},
  },
  {
    name: 'schedule',
    synopsis: 'schedule SUITE ARCH PKG... [--priority N]',
    summary: 'schedule source packages by hand (validated against Debian policy and the suite)',
    options: {
      priority: { type: 'string', value: 'N', help: `priority 1..1000, higher builds first (default: ${helpDefault('schedule.default_priority')})` },
    },
  },
  {
    name: 'build',
    synopsis: 'build [NODE1 NODE2]',
    summary: "build the next scheduled package twice and compare: on NODE1 then NODE2, or (no nodes) on this machine's two local nodes",
    options: {},
  },
  {
    name: 'worker',
    synopsis: 'worker [JOB...]',
    summary: 'run every configured job (or the named ones) as a build loop, all in this process, until SIGTERM (then finish or abort, clean and unclaim)',
    options: {},
  },
  {
    name: 'cleanup',
    synopsis: 'cleanup',
    summary: 'find stale and interrupted builds, clean them on the main node and on the nodes, give their claims back to the schedule',
    options: {},
  },
  {
    name: 'compare',
    synopsis: 'compare DIR1 DIR2 [--report PREFIX]',
    summary: 'compare two result directories as the orchestrator does (artifacts by SHA256, diffoscope when they differ)',
    options: {
      report: { type: 'string', value: 'PREFIX', help: 'write the diffoscope reports to PREFIX.diffoscope.txt and .html (default: none)' },
    },
  },
  {
    name: 'site',
    synopsis: 'site [--full]',
    summary: 'render the dashboard from reproducible.db into site_dir (incremental: only pages whose data changed)',
    options: {
      full: { type: 'boolean', help: 'render every page, not only what changed since the last render (default: off)' },
    },
  },
  {
    name: 'serve',
    synopsis: 'serve [--port N]',
    summary: 'serve site_dir on 127.0.0.1 until stopped',
    options: {
      port: { type: 'string', value: 'N', help: 'TCP port on 127.0.0.1; 0 picks a free one (default: 8080)' },
    },
  },
  {
    name: 'jobs',
    synopsis: 'jobs --format jjb|systemd|cron [--output DIR]',
    summary: 'job definitions from the configuration: Jenkins Job Builder YAML, systemd units (worker + timers), or a crontab',
    options: {
      format: { type: 'string', value: 'FORMAT', help: 'jjb, systemd or cron (required)' },
      output: { type: 'string', value: 'DIR', help: 'write the files into DIR, one per unit for systemd (default: print them on stdout)' },
    },
  },
  {
    name: 'node-setup',
    synopsis: 'node-setup NODE [--apply] [--admin-user USER] [--admin-identity FILE] [--lib-dir DIR]',
    summary: "what a node needs (build user, workdir, the main node's key restricted to a forced command): print the root script, or --apply it over SSH",
    options: {
      apply: { type: 'boolean', help: 'run the script on the node over SSH as the admin user (default: print it on stdout)' },
      'admin-user': { type: 'string', value: 'USER', help: 'who runs it on the node: root, or a user with passwordless sudo (default: root)' },
      'admin-identity': { type: 'string', value: 'FILE', help: "the admin user's private key (default: the node's identity_file)" },
      'lib-dir': { type: 'string', value: 'DIR', help: 'where the wrapper and its scripts go on the node (default: /usr/local/lib/reprofarm)' },
    },
  },
  {
    name: 'chroot',
    synopsis: 'chroot update [NODE...] [--suite S] [--arch A] [--force] [--concurrency N] [--timeout SEC]',
    summary: "make or refresh each node's chroot tarball (mmdebstrap, on the node) for each configured suite of its architecture",
    options: {
      suite: { type: 'string', value: 'S', help: 'only this suite (default: every suite in suites)' },
      arch: { type: 'string', value: 'A', help: "only nodes of this architecture (default: every node's own)" },
      force: { type: 'boolean', help: 'make every tarball again, even one younger than chroot.max_age_days (default: off)' },
      concurrency: { type: 'string', value: 'N', help: 'nodes at once; each makes one tarball at a time (default: 4)' },
      timeout: { type: 'string', value: 'SEC', help: 'the longest one tarball may take (default: 1800)' },
    },
  },
  {
    name: 'culprit',
    synopsis: 'culprit SUITE ARCH PKG [--job J] [--continue]',
    summary:
      "search now which variations make a package's FTBR version unreproducible: a control build, then halving the variations, each a build on the job's node 1; one line per step, then the verdict (exit 0), or exit 1 when none was reached",
    options: {
      job: { type: 'string', value: 'J', help: 'the job whose nodes and variations to use (default: the job that recorded the FTBR)' },
      continue: { type: 'boolean', help: "go on with the package's search where it stands (default: start it afresh)" },
    },
  },
  {
    name: 'notify',
    synopsis: 'notify [--test]',
    summary: 'deliver the pending notifications of status changes now (webhooks, mail); the worker and site also do',
    options: {
      test: { type: 'boolean', help: 'send one test event to every destination instead (default: off)' },
    },
  },
  {
    name: 'notes',
    synopsis: 'notes import DIR',
    summary: 'read a reproducible-notes checkout (packages.yml, issues.yml) into the DB, validated whole: nothing is imported when any part is wrong',
    options: {},
  },
  {
    name: 'backup',
    synopsis: 'backup FILE [--force]',
    summary: 'a consistent online copy of reproducible.db (SQLite backup API), checked, written to FILE by a rename',
    options: {
      force: { type: 'boolean', help: 'replace FILE if it exists (default: refuse)' },
    },
  },
  {
    name: 'key',
    synopsis: 'key init|rotate',
    summary: "make the farm's Ed25519 signing key (init; refuses when there is one), or replace it, retiring the old one (rotate)",
    options: {},
  },
  {
    name: 'verify',
    synopsis: 'verify FILE.deb|ATTESTATION [--key PUB] [--site URL|DIR]',
    summary: "check an attestation's signature, or a .deb against the attestation its site publishes; exit 0 when it checks out, 1 with the reason",
    options: {
      key: { type: 'string', value: 'PUB', help: "the public key (PEM) to check with (default: the site's keys/index.json)" },
      site: { type: 'string', value: 'URL|DIR', help: 'the dashboard (a folder or http(s) URL) publishing attestations/ and keys/ (default: none)' },
    },
  },
  {
    name: 'status',
    synopsis: 'status [PKG...]',
    summary: 'what is known, scheduled and building (per suite and architecture, or per package)',
    options: {},
  },
];

export interface ParsedArgs {
  command: CommandSpec | undefined;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  // the command is the first word that is not an option or an option's value
  let commandName: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a === '--config' || a === '-c') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) {
      commandName = a;
      break;
    }
  }
  const command = COMMANDS.find((c) => c.name === commandName);
  if (commandName !== undefined && !command) {
    const s = suggest(
      commandName,
      COMMANDS.map((c) => c.name),
    );
    throw new UsageError(`unknown command "${commandName}"${s ? `; did you mean "${s}"?` : ''}`, {
      advice: 'run reprofarm --help for the list of commands',
    });
  }
  const options = { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) };
  const stripped = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, { type: v.type, ...(v.short ? { short: v.short } : {}) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: stripped, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /Unknown option '(-{1,2}[^']+)'/.exec(msg);
    const unknown = m?.[1]?.replace(/^-+/, '');
    const s = unknown ? suggest(unknown, Object.keys(options)) : undefined;
    throw new UsageError(`${msg.split('. ')[0] ?? msg}${s ? `; did you mean --${s}?` : ''}`, {
      advice: `run reprofarm ${command ? `${command.name} ` : ''}--help for the options`,
    });
  }
  const positionals = parsed.positionals.slice();
  if (command) positionals.splice(positionals.indexOf(command.name), 1);
  return { command, positionals, values: parsed.values };
}

function optionLines(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(26)} ${o.help}`;
  });
}

export function helpText(command?: CommandSpec): string {
  if (command) {
    return [
      `usage: reprofarm ${command.synopsis}`,
      '',
      command.summary,
      '',
      'options:',
      ...optionLines(command.options),
      '',
      'global options:',
      ...optionLines(GLOBAL_OPTIONS),
      '',
    ].join('\n');
  }
  return [
    'usage: reprofarm [--config FILE] [--json] [--verbose|--quiet] COMMAND [ARGS]',
    '',
    'reprofarm turns Debian build nodes into a reproducibility test farm.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'exit codes: 0 ok, 1 fatal error, 2 partial (some nodes or builds failed), 64 usage error',
    "run reprofarm COMMAND --help for a command's options",
    '',
  ].join('\n');
}

/** A positive number option, or a usage error that says which. */
export function numberOption(values: ParsedArgs['values'], name: string, integer: boolean, max?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} ${String(v)}: must be a positive ${integer ? 'integer' : 'number'}`);
  }
  if (max !== undefined && n > max) {
    throw new UsageError(`--${name} ${v}: must be at most ${max}`);
  }
  return n;
}
