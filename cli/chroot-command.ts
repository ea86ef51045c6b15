/** `reprofarm chroot update`: progress on stderr, one line per tarball; --json on stdout; exit 2 when some failed. */
import { setMaxListeners } from 'node:events';
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { planChroots, updateChroots, type ChrootEvent, type ChrootOutcome } from '../builder/chroot-update.js';
import { openDb } from '../db/index.js';
import { numberOption, suggest, type ParsedArgs } from './args.js';
import { seconds, termSafe, type Reporter } from './output.js';

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_TIMEOUT_S = 1800;

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function age(iso: string, now: number): string {
  const h = (now - Date.parse(iso)) / 3_600_000;
  return h < 48 ? `${Math.max(0, Math.round(h))} h ago` : `${Math.round(h / 24)} days ago`;
}

function outcomeLine(o: ChrootOutcome, done: number, total: number): string {
  const w = String(total).length;
  const head = `[${String(done).padStart(w)}/${total}] ${o.node} ${o.suite}/${o.arch}`;
  const from = o.base === o.suite ? '' : ` (from ${o.base})`;
  const shared = o.sameAs ? `, the same workdir as ${o.sameAs}` : '';
  switch (o.result) {
    case 'made':
      return `${head}${from}: made, ${mb(o.size ?? 0)}, in ${seconds(o.durationMs)}${shared}`;
    case 'up-to-date':
      return `${head}: up to date (made ${age(o.created ?? '', Date.now())}), checked in ${seconds(o.durationMs)}${shared}`;
    default:
      return `${head}${from}: FAILED after ${seconds(o.durationMs)}: ${termSafe(o.error ?? 'unknown')}`;
  }
}

function checkChoice(what: string, value: string | undefined, known: readonly string[], key: string): void {
  if (value === undefined || known.includes(value)) return;
  const s = suggest(value, known);
  throw new UsageError(`--${what} ${value} is not configured${s ? `; did you mean "${s}"?` : ''}`, { advice: `${key}: ${known.join(', ')}` });
}

export async function runChroot(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [sub, ...names] = args.positionals;
  if (sub !== 'update') {
    throw new UsageError(sub === undefined ? 'chroot needs a subcommand: update' : `unknown chroot subcommand "${sub}"`, {
      advice: 'reprofarm chroot update [NODE...] [--suite S] [--arch A] [--force]',
    });
  }
  for (const n of names) {
    if (!config.nodes.has(n)) {
      const s = suggest(n, [...config.nodes.keys()]);
      throw new UsageError(`unknown node "${n}"${s ? `; did you mean "${s}"?` : ''}`, { advice: `configured nodes: ${[...config.nodes.keys()].join(', ')}` });
    }
  }
  const suite = typeof args.values.suite === 'string' ? args.values.suite : undefined;
  const arch = typeof args.values.arch === 'string' ? args.values.arch : undefined;
  checkChoice('suite', suite, config.suites, 'suites');
  checkChoice('arch', arch, config.architectures, 'architectures');
  const concurrency = numberOption(args.values, 'concurrency', true, 1024) ?? DEFAULT_CONCURRENCY;
  const timeoutS = numberOption(args.values, 'timeout', false, 86400) ?? DEFAULT_TIMEOUT_S;
  const force = args.values.force === true;

  const db = openDb(dbFile(config.stateDir));
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = performance.now();
    const plans = planChroots(config, db, names, { ...(suite ? { suite } : {}), ...(arch ? { arch } : {}) });
    const skippedFailed = plans.filter((p) => p.skipped?.failed);
    for (const p of plans) if (p.skipped) rep.line(`${p.node.name}: ${p.skipped.failed ? 'FAILED: ' : 'nothing to make: '}${p.skipped.why}`, p.skipped.failed);
    const total = plans.reduce((n, p) => n + p.targets.length, 0);
    if (total > 0) rep.verbose(`${total} chroot(s) on ${plans.filter((p) => p.targets.length > 0).length} node(s), ${concurrency} node(s) at once`);
    let done = 0;
    const onEvent = (e: ChrootEvent): void => {
      if (e.type === 'chroot-start') rep.verbose(`${e.node} ${e.suite}/${e.arch}: making or checking`);
      else rep.line(outcomeLine(e.outcome, ++done, total), e.outcome.result === 'failed');
    };
    let results: ChrootOutcome[];
    try {
      results = await updateChroots(config, db, plans, { force, concurrency, timeoutS, onEvent, signal: ac.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const failed = results.filter((r) => r.result === 'failed');
    for (const r of failed) {
      if (!r.output) continue;
      rep.line(`  ${r.node} ${r.suite}/${r.arch}, the end of its output:`, true);
      for (const l of r.output.split('\n')) rep.line(`    ${termSafe(l)}`, true);
    }
    if (failed.length > 0) {
      rep.line(
        '  hint: check that chroot.mirror is reachable from the node, that its Release is signed by a key in chroot.keyring, and the node has mmdebstrap and a subuid range (reprofarm node-setup NODE)',
        true,
      );
    }
    const made = results.filter((r) => r.result === 'made').length;
    const fresh = results.filter((r) => r.result === 'up-to-date').length;
    const nFailed = failed.length + skippedFailed.length;
    rep.line(`Chroots: ${made} made, ${fresh} up to date, ${nFailed} failed in ${seconds(performance.now() - t0)}`, nFailed > 0);
    if (args.values.json) {
      rep.json({
        made,
        up_to_date: fresh,
        failed: nFailed,
        chroots: results.map((r) => ({
          node: r.node,
          suite: r.suite,
          arch: r.arch,
          base: r.base,
          result: r.result,
          duration_ms: Math.round(r.durationMs),
          created: r.created,
          size: r.size,
          sha256: r.sha256,
          error: r.error,
          output: r.output,
          same_as: r.sameAs,
        })),
        skipped: plans.filter((p) => p.skipped).map((p) => ({ node: p.node.name, arch: p.arch, why: p.skipped?.why, failed: p.skipped?.failed })),
      });
    }
    return nFailed > 0 ? 2 : 0;
  } finally {
    db.close();
  }
}
