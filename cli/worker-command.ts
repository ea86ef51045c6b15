import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { startWorker, workerPairs, type WorkerEvent } from '../builder/worker.js';
import { openDb } from '../db/index.js';
import type { ParsedArgs } from './args.js';
import { notifyLine } from './notify-command.js';
import { termSafe, type Reporter } from './output.js';

/** logfmt value: bare when it is simple, else quoted */
function v(x: string | number): string {
  const s = termSafe(String(x));
  return /^[A-Za-z0-9._:/+~@,-]+$/.test(s) ? s : JSON.stringify(s);
}

/**
 * One line per event on stderr. Under systemd (JOURNAL_STREAM set) each line
 * starts with its syslog priority (<6> info, <4> warning, <3> error), which
 * journald reads; elsewhere with a UTC timestamp.
 */
function logLine(e: WorkerEvent): { level: 3 | 4 | 6; text: string } {
  switch (e.type) {
    case 'start':
      return { level: 6, text: `worker started jobs=${v(e.jobs.join(','))} pid=${process.pid}` };
    case 'outcome': {
      const o = e.outcome;
      if (o.kind === 'recorded') {
        return {
          level: o.status === 'reproducible' ? 6 : 4,
          text: `build job=${v(e.job)} package=${v(o.claim.package)} version=${v(o.claim.version)} suite=${v(o.claim.suite)} arch=${v(o.claim.arch)} status=${v(o.status)}${o.reason ? ` reason=${v(o.reason)}` : ''}`,
        };
      }
      if (o.kind === 'requeued')
        return { level: 4, text: `requeued job=${v(e.job)} package=${v(o.claim.package)} version=${v(o.claim.version)} reason=${v(o.reason)}` };
      return { level: 6, text: `idle job=${v(e.job)}` };
    }
    case 'search': {
      const r = e.result;
      if (r.kind === 'idle') return { level: 6, text: `idle job=${v(e.job)}` };
      const pkg = `package=${v(r.search.package)} version=${v(r.search.version)} suite=${v(r.search.suite)} arch=${v(r.search.arch)}`;
      if (r.kind === 'given-back') return { level: 4, text: `culprit-step-given-back job=${v(e.job)} ${pkg} reason=${v(r.reason)}` };
      const verdict = r.verdict
        ? ` verdict=${v(r.verdict.verdict)}${r.verdict.verdict === 'culprits' ? ` culprits=${v(r.verdict.culprits.join(','))}` : ''}`
        : '';
      return { level: 6, text: `culprit-step job=${v(e.job)} ${pkg} outcome=${v(r.outcome)}${verdict}` };
    }
    case 'skip':
      return { level: 4, text: `skipped job=${v(e.job)} reason=${v(e.why)} retry_in=${e.retryInS}s` };
    case 'error':
      return { level: 3, text: `error job=${v(e.job)} message=${v(e.message)} retry_in=${e.retryInS}s` };
    case 'stopping':
      return { level: 6, text: `stopping: no new claims; running=${e.running} grace=${e.graceS}s` };
    case 'aborting':
      return { level: 4, text: `aborting running=${e.running}: cleaning their nodes and giving their claims back` };
    case 'stopped':
      return { level: 6, text: 'worker stopped' };
    case 'notify':
      return { level: e.result.error ? 4 : 6, text: `notify ${notifyLine(e.result)}` };
  }
}

export async function runWorker(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const pairs = workerPairs(config, args.positionals);
  if (pairs.length === 0) throw new UsageError('no jobs configured', { advice: 'add a jobs: section (a job is a pair of nodes) to the configuration' });
  const db = openDb(dbFile(config.stateDir));
  const journald = Boolean(process.env.JOURNAL_STREAM);
  const handle = startWorker(config, db, pairs, {
    onEvent: (e) => {
      const { level, text } = logLine(e);
      if (level === 6 && rep.verbosity === 'quiet') return;
      rep.err.write(journald ? `<${level}>${text}\n` : `${new Date().toISOString()} ${text}\n`);
    },
  });
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    handle.stop({ now: signals > 1 });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await handle.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    db.close();
  }
  return 0;
}
