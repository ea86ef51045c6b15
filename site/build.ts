/**
 * The site builder: reads reproducible.db (one snapshot) into view models,
 * renders them and writes `site_dir`, in four phases:
 *
 *   1. plan (plan.ts): full or incremental, and which package pages: those
 *      the DB's change log names since the last render;
 *   2. the small pages (small-pages.ts), every time: schedules, charts,
 *      nodes, variations, static files;
 *   3. the package pages (package-pages.ts), with the status pages and JSON
 *      fragment of each suite/arch they belong to (spliced when few changed:
 *      status-pages.ts), inline or on worker threads (worker-pool.ts);
 *   4. finish (finish.ts): the dashboard, culprits.html and reproducible.json (a big one on a
 *      thread of its own: compose-thread.ts), what is gone, and how far this render got.
 *
 * Phases 1 and 2 run in one DB snapshot. Every file is written beside its
 * target and renamed over it (or, in a full render, a new package folder is
 * filled under another name and renamed once), so a browser never sees half
 * a page. Bookkeeping lives in `<site_dir>/.reprofarm/`.
 */
import type { Config } from '../core/config.js';
import type { FarmDb } from '../db/index.js';
import { SiteReader } from '../db/site.js';
import { sitePaths, type RenderContext, type SiteEvent, type SitePaths } from './context.js';
import type { ComposeThread } from './compose-thread.js';
import {
  COMPOSE_THREAD_FROM,
  composeThreadFor,
  recordRender,
  removeGone,
  renderBreakages,
  renderCulprits,
  renderDashboard,
  writeReproducibleJson,
} from './finish.js';
import { writeTrackerJson } from './tracker-json.js';
import { importConfiguredNotes, renderNotesPages } from './notes-pages.js';
import { lock, removeDeadTemps, removeOwnTemps, removeUnconfigured } from './housekeeping.js';
import { renderMaintainerPages } from './maintainer-pages.js';
import { renderSetPages } from './set-pages.js';
import { removeStaging, renderPackagePages } from './package-pages.js';
import { fingerprint, planRender, RENDERING, siteState } from './plan.js';
import { Renderer } from './render.js';
import { renderSmallPages } from './small-pages.js';
import { threadsFor, WorkerPool } from './worker-pool.js';
import { emptyTrash, SiteWriter } from './writer.js';

export type { SiteEvent } from './context.js';
export { SiteLockedError } from './housekeeping.js';

export interface SiteOptions {
  full?: boolean;
  onEvent?: (e: SiteEvent) => void;
  /** package names per DB query and render batch */
  batch?: number;
  /** worker threads for the package pages (default: none for a few pages, else up to 4, one per core) */
  threads?: number;
  /** from which size of the last reproducible.json the next is composed on a thread of its own (default COMPOSE_THREAD_FROM) */
  composeThreadFrom?: number;
}

export interface SiteSummary {
  mode: 'full' | 'incremental';
  why: string;
  packagePages: number;
  deletedPages: number;
  statusPages: number;
  /** suites/arches whose status pages were spliced (a few changed packages), not rendered from the whole listing */
  splicedUnits: number;
  otherPages: number;
  files: number;
  seq: number;
  durationMs: number;
  /** where the time went: package and status pages with the JSON (run together), the small pages */
  phasesMs: { packages: number; other: number };
}

export async function buildSite(config: Config, db: FarmDb, opts: SiteOptions = {}): Promise<SiteSummary> {
  const started = performance.now();
  const paths = sitePaths(config.siteDir);
  const unlock = lock(paths.bookkeepingDir);
  removeDeadTemps(paths.bookkeepingDir);
  const pool = new WorkerPool();
  // what the last render replaced is freed meanwhile
  const freeing = emptyTrash(paths.siteDir);
  const threads = { pool, compose: composeThreadFor(paths.siteDir, opts.composeThreadFrom ?? COMPOSE_THREAD_FROM) };
  try {
    return await render(config, db, opts, paths, threads, started);
  } finally {
    await Promise.all([pool.terminate(), threads.compose?.terminate()]);
    await freeing.catch(() => undefined);
    unlock();
  }
}

async function render(
  config: Config,
  db: FarmDb,
  opts: SiteOptions,
  paths: SitePaths,
  { pool, compose }: { pool: WorkerPool; compose: ComposeThread | undefined },
  started: number,
): Promise<SiteSummary> {
  const ctx: RenderContext = {
    config,
    reader: new SiteReader(db),
    renderer: new Renderer(),
    writer: new SiteWriter(paths.siteDir),
    paths,
    emit: opts.onEvent ?? ((): void => undefined),
  };
  const state = siteState(paths);
  const made = fingerprint(config);
  // notes_dir first, so that the pages its changes are on are in this render's plan
  importConfiguredNotes(ctx);

  const { plan, small, smallMs } = ctx.reader.snapshot(() => {
    // 1. the plan
    const plan = planRender(ctx.reader, config, opts.full === true, state.read(), made);
    ctx.emit({ type: 'mode', mode: plan.mode, why: plan.why });
    // worker threads for many pages start now: they load and open the DB while the small pages are rendered
    pool.start(threadsFor(plan.pages, opts.threads), {
      dbPath: db.path,
      siteDir: paths.siteDir,
      stateDir: config.stateDir,
      asOf: plan.asOf,
      full: plan.full,
      fragmentDir: paths.fragmentDir,
    });
    // 2. the small pages; and before any package page, what an older configuration or an unfinished render left
    const t0 = performance.now();
    const small = renderSmallPages(ctx, plan);
    if (plan.full) removeUnconfigured(ctx.writer, config);
    removeStaging(ctx);
    return { plan, small, smallMs: performance.now() - t0 };
  });

  // 3. the package pages, status pages and JSON fragments
  const t1 = performance.now();
  const pages = await renderPackagePages(ctx, plan, pool, opts.batch ?? 250);
  // reproducible.json needs every fragment done, and the pages below do not need it
  const json = writeReproducibleJson(ctx, compose);
  json.catch(() => undefined);

  // 4. finish
  renderDashboard(ctx, plan, small.dashboard);
  renderCulprits(ctx, plan);
  renderBreakages(ctx, plan);
  const extrasBefore = ctx.writer.files + ctx.writer.removed;
  renderNotesPages(ctx, plan);
  renderMaintainerPages(ctx, plan);
  renderSetPages(ctx, plan);
  const extras = ctx.writer.files + ctx.writer.removed - extrasBefore;
  writeTrackerJson(ctx, plan);
  (await json).commit();
  const gone = plan.full ? removeGone(ctx, plan, pages.written) : 0;
  const packagesMs = performance.now() - t1;
  recordRender(ctx, state, { version: 1, rendering: RENDERING, ...made, seq: plan.seq });
  ctx.writer.dispose();
  removeOwnTemps(paths.bookkeepingDir);
  return {
    mode: plan.mode,
    why: plan.why,
    packagePages: pages.packagePages,
    deletedPages: pages.deletedPages + gone,
    statusPages: pages.statusPages,
    splicedUnits: pages.spliced,
    // the dashboard, culprits.html, breakages.html, reproducible.json, reproducible-tracker.json; and the
    // notes, maintainer and set pages written or removed (unchanged ones are not rewritten)
    otherPages: small.pages + 5 + extras,
    files: ctx.writer.files,
    seq: plan.seq,
    durationMs: performance.now() - started,
    phasesMs: { packages: packagesMs, other: smallMs },
  };
}
