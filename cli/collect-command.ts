import { setMaxListeners } from 'node:events';
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { collect, type CollectEvent, type NodeCollection } from '../collector/collect.js';
import { numberOption, suggest, type ParsedArgs } from './args.js';
import { seconds, termSafe, type Reporter } from './output.js';

function nodeLine(r: NodeCollection, done: number, total: number): string {
  const w = String(total).length;
  const head = `[${String(done).padStart(w)}/${total}] ${r.node}`;
  const took = seconds(r.durationMs);
  if (r.ok) {
    const off = r.clockOffsetS !== null && Math.abs(r.clockOffsetS) >= 2 ? `, clock ${r.clockOffsetS > 0 ? '+' : ''}${r.clockOffsetS} s` : '';
    return `${head}: ${r.health}${r.reason ? ` (${termSafe(r.reason)})` : ''}${off} in ${took}`;
  }
  return `${head}: FAILED, ${r.health}: ${termSafe(r.reason ?? 'unknown')} (${took})`;
}

export async function runCollect(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  for (const n of args.positionals) {
    if (!config.nodes.has(n)) {
      const s = suggest(n, [...config.nodes.keys()]);
      throw new UsageError(`unknown node "${n}"${s ? `; did you mean "${s}"?` : ''}`, {
        advice: `configured nodes: ${[...config.nodes.keys()].join(', ')}`,
      });
    }
  }
  // the same bounds as collect.concurrency and collect.timeout in the config
  const concurrency = numberOption(args.values, 'concurrency', true, 1024) ?? config.collect.concurrency;
  const timeoutS = numberOption(args.values, 'timeout', false, 86400) ?? config.collect.timeout;
  // the DB (and better-sqlite3) loads while the first connections are being set up
  const opening = import('../db/index.js').then((m) => m.openDb(dbFile(config.stateDir)));
  try {
    const onEvent = (e: CollectEvent): void => {
      switch (e.type) {
        case 'collect-start':
          rep.verbose(`collecting from ${e.nodes.length} node(s), ${e.concurrency} at once, ${e.timeoutS} s each`);
          break;
        case 'node-done':
          if (rep.tty) {
            if (!e.result.ok || rep.verbosity === 'verbose') rep.line(nodeLine(e.result, e.done, e.total), !e.result.ok);
            rep.bar(e.done, e.total, e.result.node);
          } else {
            rep.line(nodeLine(e.result, e.done, e.total), !e.result.ok);
          }
          break;
        case 'pruned':
          rep.verbose(`pruned ${e.collections} collection(s) older than ${e.olderThanDays} days`);
          break;
      }
    };
    const ac = new AbortController();
    // every node in flight listens for an interrupt
    setMaxListeners(0, ac.signal);
    const onSignal = (): void => ac.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let summary;
    try {
      summary = await collect(config, opening, args.positionals, { concurrency, timeoutS, onEvent, signal: ac.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    rep.clearBar();
    const total = summary.results.length;
    const failed = summary.results.filter((r) => !r.ok);
    for (const r of failed) {
      rep.line(`  ${r.node}: ${termSafe(r.reason ?? '')}`, true);
      if (r.advice) rep.line(`    hint: ${termSafe(r.advice)}`, true);
    }
    const parts = [];
    if (summary.failed > 0) parts.push(`${summary.failed} failed`);
    if (summary.degraded > 0) parts.push(`${summary.degraded} degraded`);
    rep.line(
      `Collected ${summary.collected}/${total} nodes${parts.length ? ` (${parts.join(', ')})` : ''} in ${seconds(summary.durationMs)}`,
      summary.failed > 0,
    );
    if (args.values.json) {
      rep.json({
        collected: summary.collected,
        failed: summary.failed,
        degraded: summary.degraded,
        total,
        duration_ms: Math.round(summary.durationMs),
        nodes: summary.results.map((r) => ({
          node: r.node,
          ok: r.ok,
          health: r.health,
          reason: r.reason,
          advice: r.advice,
          error_kind: r.errorKind,
          started_at: r.startedAt,
          duration_ms: Math.round(r.durationMs),
          clock_offset_s: r.clockOffsetS,
          file: r.file,
          facts: r.facts ? Object.fromEntries(r.facts) : null,
          chroots: r.chroots?.map((c) => ({ suite: c.suite, arch: c.arch, created: c.created.toISOString(), size: c.size, sha256: c.sha256 })) ?? null,
        })),
      });
    }
    return summary.failed > 0 ? 2 : 0;
  } finally {
    // opened or failed by now: collect() waits for it
    (await opening.catch(() => undefined))?.close();
  }
}
