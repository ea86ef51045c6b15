import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { openDb } from '../db/index.js';
import { deliverAfterRun } from '../notify/after-run.js';
import { buildSite, type SiteEvent } from '../site/build.js';
import type { ParsedArgs } from './args.js';
import { notifyLine } from './notify-command.js';
import { termSafe, type Reporter } from './output.js';

export async function runSite(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`site takes no arguments, got "${args.positionals.join(' ')}"`);
  const db = openDb(dbFile(config.stateDir));
  try {
    let skipped = 0;
    const onEvent = (e: SiteEvent): void => {
      if (e.type === 'mode') rep.verbose(`${e.mode} render: ${e.why}`);
      else if (e.type === 'progress') rep.bar(e.done, e.total, 'package pages');
      else {
        skipped++;
        rep.warn(`skipped ${termSafe(e.what)}: ${e.why}`);
      }
    };
    const s = await buildSite(config, db, { full: args.values.full === true, onEvent });
    rep.clearBar();
    rep.line(
      `Rendered ${config.siteDir} (${s.mode}): ${s.packagePages} package pages, ${s.statusPages} status pages, ${s.otherPages} other files, ${s.deletedPages} removed, in ${(s.durationMs / 1000).toFixed(2)} s`,
      true,
    );
    // pending notifications go out with each render; a failure is reported, the render stands
    for (const r of await deliverAfterRun(config, db)) {
      if (r.error) rep.warn(notifyLine(r));
      else if (r.messages > 0) rep.line(notifyLine(r));
    }
    if (args.values.json) {
      rep.json({
        mode: s.mode,
        why: s.why,
        package_pages: s.packagePages,
        status_pages: s.statusPages,
        status_units_spliced: s.splicedUnits,
        other_files: s.otherPages,
        removed: s.deletedPages,
        files_written: s.files,
        seq: s.seq,
        duration_ms: Math.round(s.durationMs),
        phases_ms: { pages: Math.round(s.phasesMs.packages), small_pages: Math.round(s.phasesMs.other) },
        site_dir: config.siteDir,
      });
    }
    return skipped > 0 ? 2 : 0;
  } finally {
    db.close();
  }
}

export async function runServe(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`serve takes no arguments, got "${args.positionals.join(' ')}"`);
  const raw = (args.values.port as string | undefined) ?? '8080';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new UsageError(`--port ${raw}: must be a port number 0..65535 (0: any free port)`);
  if (!existsSync(join(config.siteDir, 'index.html'))) {
    throw new UsageError(`${config.siteDir} has no index.html`, { advice: 'run reprofarm site first' });
  }
  // (loaded here: node:http is not needed to render)
  const { serveSite } = await import('../site/serve.js');
  const h = await serveSite(config.siteDir, port);
  rep.line(`Serving ${config.siteDir} on ${h.url} (Ctrl-C to stop)`, true);
  if (args.values.json) rep.json({ url: h.url, site_dir: config.siteDir });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await h.close();
  return 0;
}
