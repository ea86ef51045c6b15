import { userInfo } from 'node:os';
import type { Config } from '../core/config.js';
import { formatError, UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { badNames, scheduleByHand } from '../archive/manual-schedule.js';
import { ordersInFlight } from '../builder/in-flight.js';
import { sync, type SyncEvent } from '../archive/sync.js';
import { sourceNameProblem } from '../archive/version.js';
import { packageStatus, statusSummary } from '../db/status.js';
import { openDb } from '../db/index.js';
import { numberOption, suggest, type ParsedArgs } from './args.js';
import { seconds, termSafe, type Reporter } from './output.js';

function requireConfigured(kind: 'suite' | 'architecture', value: string, known: readonly string[]): void {
  if (known.includes(value)) return;
  const s = suggest(value, known);
  throw new UsageError(`${kind} "${value}" is not configured${s ? `; did you mean "${s}"?` : ''}`, {
    advice: `configured ${kind === 'suite' ? 'suites' : 'architectures'}: ${known.join(', ')}`,
  });
}

export async function runSync(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  for (const s of args.positionals) requireConfigured('suite', s, config.suites);
  const db = openDb(dbFile(config.stateDir));
  try {
    const onEvent = (e: SyncEvent): void => {
      if (e.type === 'suite-start') {
        rep.verbose(`${e.suite}: reading ${config.mirror}`);
        return;
      }
      const r = e.result;
      for (const w of r.warnings) rep.warn(termSafe(w));
      if (!r.ok) {
        rep.line(`${r.suite}: FAILED, nothing recorded for it\n${termSafe(formatError(r.error))}`, true);
        return;
      }
      const s = r.summary!;
      rep.line(
        r.unchanged
          ? `${r.suite}: ${s.total} sources, ${r.file} unchanged since the last sync (${seconds(r.durationMs)})`
          : `${r.suite}: ${s.total} sources (${s.added} new, ${s.newVersions} new versions, ${s.removed} removed) from ${r.file} in ${seconds(r.durationMs)}`,
      );
      for (const a of s.arches) {
        const sch = a.scheduled;
        const total = sch.untested + sch.newVersion + sch.retryFailed + sch.old;
        rep.line(
          `  ${a.arch}: ${a.nfu} not for this architecture, ${a.blacklisted} blacklisted; scheduled ${total} (${sch.untested} untested, ${sch.newVersion} new versions, ${sch.retryFailed} FTBFS/depwait retries, ${sch.old} old)`,
        );
      }
      if (r.problemCount > 0) {
        rep.warn(`${r.suite}: ${r.problemCount} Sources stanza(s) skipped:`);
        for (const p of r.problems.slice(0, 10)) rep.line(`  ${r.file} line ${p.line}: ${termSafe(p.message)}`, true);
        if (r.problemCount > 10)
          rep.line(`  and ${r.problemCount - 10} more${r.problemCount > r.problems.length ? ` (--json lists the first ${r.problems.length})` : ''}`, true);
      }
    };
    const t0 = performance.now();
    const results = await sync(config, db, args.positionals, { onEvent });
    const failed = results.filter((r) => !r.ok);
    rep.line(
      `Synced ${results.length - failed.length}/${results.length} suites${failed.length ? ` (${failed.map((f) => f.suite).join(', ')} failed)` : ''} in ${seconds(performance.now() - t0)}`,
      failed.length > 0,
    );
    if (args.values.json) {
      rep.json({
        suites: results.map((r) => ({
          suite: r.suite,
          ok: r.ok,
          error: r.ok ? null : r.error instanceof Error ? r.error.message : String(r.error),
          file: r.file,
          bytes: r.bytes,
          unchanged: r.unchanged,
          duration_ms: Math.round(r.durationMs),
          warnings: r.warnings,
          problems: r.problems,
          problems_total: r.problemCount,
          ...(r.summary
            ? {
                sources: r.summary.total,
                added: r.summary.added,
                new_versions: r.summary.newVersions,
                removed: r.summary.removed,
                architectures: r.summary.arches.map((a) => ({ arch: a.arch, nfu: a.nfu, blacklisted: a.blacklisted, scheduled: a.scheduled })),
              }
            : {}),
        })),
      });
    }
    if (failed.length === 0) return 0;
    return failed.length === results.length ? 1 : 2;
  } finally {
    db.close();
  }
}

export function runSchedule(config: Config, args: ParsedArgs, rep: Reporter): number {
  const [suite, arch, ...pkgs] = args.positionals;
  if (!suite || !arch || pkgs.length === 0)
    throw new UsageError('schedule needs SUITE ARCH PKG...', { advice: 'example: reprofarm schedule bookworm amd64 hello' });
  requireConfigured('suite', suite, config.suites);
  requireConfigured('architecture', arch, config.architectures);
  const priority = numberOption(args.values, 'priority', true) ?? config.schedule.defaultPriority;
  if (priority > 1000) throw new UsageError(`--priority ${priority}: use 1..1000`);
  const bad = badNames(pkgs);
  if (bad.length > 0) {
    throw new UsageError(`refused, nothing scheduled: ${bad.map(([p, why]) => `${JSON.stringify(termSafe(p))}: ${why}`).join('; ')}`);
  }
  const db = openDb(dbFile(config.stateDir));
  try {
    const by = process.env.SUDO_USER || process.env.USER || userInfo().username;
    const r = scheduleByHand(db, config, { suite, arch, pkgs, priority, by });
    rep.line(
      `Scheduled ${r.added} new, raised ${r.raised} already scheduled to priority ${priority} in ${suite}/${arch}${r.building.length ? `; already building: ${r.building.join(', ')}` : ''}`,
    );
    if (args.values.json) rep.json({ suite, arch, priority, added: r.added, raised: r.raised, building: r.building });
    return 0;
  } finally {
    db.close();
  }
}

export async function runStatus(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  for (const p of args.positionals) {
    const why = sourceNameProblem(p);
    if (why) throw new UsageError(`${JSON.stringify(termSafe(p))} is not a source package name: ${why}`);
  }
  const db = openDb(dbFile(config.stateDir));
  try {
    if (args.positionals.length === 0) {
      const rows = statusSummary(db, config.suites, config.architectures);
      for (const r of rows) {
        const st = Object.entries(r.statuses)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        rep.line(
          `${r.suite}/${r.arch}: ${r.known} known, ${r.untested} untested${st ? `, ${st}` : ''}; ${r.scheduled} scheduled, ${r.building} building`,
          true,
        );
      }
      if (args.values.json) rep.json(rows);
      return 0;
    }
    const all = args.positionals.flatMap((p) => {
      const rows = packageStatus(db, p, config.suites, config.architectures);
      if (rows.length === 0) rep.line(`${p}: not known in ${config.suites.join(', ')}`, true);
      return rows;
    });
    // the main node's work orders: which nodes a build in flight is on
    const orders = (await Promise.all([...new Set(all.map((r) => r.package))].map((p) => ordersInFlight(config.stateDir, p)))).flat();
    const inFlight = (r: (typeof all)[number]): Array<{ node: string; build: string | null; job: string | null }> =>
      orders
        .filter((o) => o.suite === r.suite && o.arch === r.arch && o.package === r.package && o.version === r.version)
        .map((o) => ({ node: o.node, build: o.build, job: o.job }));
    for (const r of all) {
      const on = inFlight(r)
        .map((o) => `build ${o.build ?? '?'} on ${o.node}`)
        .join(', ');
      const sch = r.scheduled
        ? r.scheduled.claimed_at
          ? `building since ${r.scheduled.claimed_at} (${r.scheduled.claimed_by}${on ? `: ${on}` : ''})`
          : `scheduled (priority ${r.scheduled.priority}, ${r.scheduled.reason}, by ${r.scheduled.scheduled_by})`
        : 'not scheduled';
      rep.line(
        `${r.package} ${r.version ?? '?'} ${r.suite}/${r.arch}: ${r.status}${r.tested_version && r.tested_version !== r.version ? ` (tested ${r.tested_version})` : ''}${r.removed ? ', removed from the suite' : ''}; ${sch}`,
        true,
      );
    }
    if (args.values.json) rep.json(all.map((r) => ({ ...r, in_flight: inFlight(r) })));
    return all.length > 0 ? 0 : 2;
  } finally {
    db.close();
  }
}
