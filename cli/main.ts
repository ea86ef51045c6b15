/** The one place that prints and chooses exit codes. */
import { loadConfig } from '../core/config.js';
import { asDiskFull } from '../core/disk.js';
import { ConfigError, formatError, UsageError } from '../core/errors.js';
import { helpText, parseCommandLine, type ParsedArgs } from './args.js';
import { Reporter, termSafe, type Verbosity } from './output.js';

export const EXIT = { ok: 0, fatal: 1, partial: 2, usage: 64 } as const;

export async function main(argv: readonly string[], io = { err: process.stderr, out: process.stdout }): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseCommandLine(argv);
  } catch (err) {
    io.err.write(`${formatError(err)}\n`);
    return EXIT.usage;
  }
  const verbosity: Verbosity = args.values.quiet ? 'quiet' : args.values.verbose ? 'verbose' : 'normal';
  const rep = new Reporter(io.err, io.out, verbosity);
  if (args.values.help || !args.command) {
    (args.values.help ? io.out : io.err).write(helpText(args.command));
    return args.values.help ? EXIT.ok : EXIT.usage;
  }
  let stateDir = '.';
  try {
    const { config, warnings } = loadConfig({ path: args.values.config as string | undefined });
    if (!config.file) rep.verbose('no reprofarm.yaml here: using the embedded default (two local nodes)');
    for (const w of warnings) rep.warn(w);
    stateDir = config.stateDir;
    switch (args.command.name) {
      // each command's modules load only when it runs: a cron'd collect does not pay for the archive code
      case 'collect':
        return await (await import('./collect-command.js')).runCollect(config, args, rep);
      case 'sync':
        return await (await import('./archive-commands.js')).runSync(config, args, rep);
      case 'schedule':
        return (await import('./archive-commands.js')).runSchedule(config, args, rep);
      case 'build':
        return await (await import('./build-commands.js')).runBuild(config, args, rep);
      case 'worker':
        return await (await import('./worker-command.js')).runWorker(config, args, rep);
      case 'cleanup':
        return await (await import('./build-commands.js')).runCleanup(config, args, rep);
      case 'compare':
        return await (await import('./build-commands.js')).runCompare(config, args, rep);
      case 'site':
        return await (await import('./site-commands.js')).runSite(config, args, rep);
      case 'serve':
        return await (await import('./site-commands.js')).runServe(config, args, rep);
      case 'jobs':
        return await (await import('./ops-commands.js')).runJobs(config, args, rep);
      case 'node-setup':
        return await (await import('./ops-commands.js')).runNodeSetup(config, args, rep);
      case 'chroot':
        return await (await import('./chroot-command.js')).runChroot(config, args, rep);
      case 'culprit':
        return await (await import('./culprit-command.js')).runCulprit(config, args, rep);
      case 'notify':
        return await (await import('./notify-command.js')).runNotify(config, args, rep);
      case 'notes':
        return (await import('./notes-command.js')).runNotes(config, args, rep);
      case 'backup':
        return await (await import('./ops-commands.js')).runBackup(config, args, rep);
      case 'key':
        return await (await import('./key-commands.js')).runKey(config, args, rep);
      case 'verify':
        return await (await import('./key-commands.js')).runVerify(config, args, rep);
      case 'status':
        return await (await import('./archive-commands.js')).runStatus(config, args, rep);
      default:
        throw new UsageError(`command ${args.command.name} is not implemented`);
    }
  } catch (caught) {
    // a full disk is said as such, whichever write met it
    const err = asDiskFull(caught, stateDir) ?? caught;
    rep.clearBar();
    io.err.write(`${termSafe(formatError(err))}\n`);
    if (args.values.json) rep.json({ error: err instanceof Error ? err.message : String(err) });
    if (err instanceof UsageError) return EXIT.usage;
    if (err instanceof ConfigError) return EXIT.fatal;
    return EXIT.fatal;
  }
}
