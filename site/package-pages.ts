/**
 * The third phase of a render: the package pages of the plan, and the status
 * pages and JSON fragment of every suite/arch whose packages changed (all on
 * a full render), as tasks (tasks.ts), inline or on the worker threads.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Finding } from './breakages.js';
import { updateBrokenCache } from './breakages-cache.js';
import { fragmentFile, suiteArchKey, suiteArchs, type RenderContext } from './context.js';
import type { RenderPlan } from './plan.js';
import { listsDue } from './list-pages.js';
import { statusPagesState } from './status-pages.js';
import { runTask, type Task, type TaskResult } from './tasks.js';
import type { WorkerPool } from './worker-pool.js';

export interface PackagePagesResult {
  packagePages: number;
  deletedPages: number;
  statusPages: number;
  /** suites/arches whose status pages were spliced */
  spliced: number;
  /** per suite/arch (suiteArchKey): every package rendered, with its current build id (null: none) */
  written: Map<string, Map<string, number | null>>;
}

export async function renderPackagePages(ctx: RenderContext, plan: RenderPlan, pool: WorkerPool, batch: number): Promise<PackagePagesResult> {
  mkdirSync(ctx.paths.fragmentDir, { recursive: true });
  const status = statusTasks(ctx, plan);
  const { tasks, staged } = batchTasks(ctx, plan, batch);
  const out: PackagePagesResult = { packagePages: 0, deletedPages: 0, statusPages: 0, spliced: 0, written: new Map() };
  for (const u of plan.todo.values()) out.written.set(suiteArchKey(u.suite, u.arch), new Map());
  // a suite/arch's file findings go to its breakages cache once its last batch is in: a full
  // render does not hold every package's at once
  const broken = new Map<string, Map<string, Finding[]>>([...plan.todo.keys()].map((k) => [k, new Map()]));
  const left = new Map([...plan.todo].map(([k, u]) => [k, Math.ceil(u.names.length / batch)]));
  const flush = (k: string): void => {
    const u = plan.todo.get(k);
    if (u) updateBrokenCache(ctx.writer, ctx.paths.fragmentDir, u, plan.full, u.names, broken.get(k) ?? new Map());
    broken.delete(k);
    left.delete(k);
  };
  let done = 0;
  const take = (t: Task, r: TaskResult): void => {
    out.statusPages += r.statusPages;
    out.spliced += r.spliced;
    if (t.type === 'status') return;
    out.packagePages += r.pages;
    out.deletedPages += r.deleted;
    const m = out.written.get(suiteArchKey(t.suite, t.arch));
    for (const [n, id] of r.written) m?.set(n, id);
    for (const [n, f] of r.broken) broken.get(suiteArchKey(t.suite, t.arch))?.set(n, f);
    for (const n of r.skipped) ctx.emit({ type: 'skipped', what: `package ${JSON.stringify(n)} in ${t.suite}`, why: 'not a valid source package name' });
    done += t.names.length;
    ctx.emit({ type: 'progress', done, total: plan.pages });
    const k = suiteArchKey(t.suite, t.arch);
    const st = staged.get(k);
    if (st && --st.left === 0) unstage(st.dir, ctx.writer.path(`rb-pkg/${t.suite}/${t.arch}`));
    const n = (left.get(k) ?? 0) - 1;
    if (n <= 0) flush(k);
    else left.set(k, n);
  };
  const all = [...status, ...tasks];
  if (pool.size === 0) {
    const bctx = { reader: ctx.reader, renderer: ctx.renderer, writer: ctx.writer, stateDir: ctx.config.stateDir, asOf: plan.asOf, full: plan.full };
    for (const t of all) take(t, runTask(bctx, ctx.paths.fragmentDir, t));
  } else {
    ctx.writer.files += await pool.run(all, take);
  }
  for (const k of [...left.keys()]) flush(k);
  return out;
}

/**
 * The suites/arches whose status pages are rendered: from the whole listing in a full render and
 * where the last pages are not all there; spliced where packages changed; and where only the
 * passing time moved the recent pages (a row left their window, list-pages.ts), those alone: a
 * splice of no change.
 */
function statusTasks(ctx: RenderContext, plan: RenderPlan): Task[] {
  const { fragmentDir } = ctx.paths;
  return suiteArchs(ctx.config).flatMap(({ suite, arch }): Task[] => {
    const task = (names: string[] | undefined): Task[] => [{ type: 'status', suite, arch, names }];
    if (plan.full || !existsSync(fragmentFile(fragmentDir, suite, arch)) || !statusPagesState(fragmentDir, suite, arch).read()) return task(undefined);
    const names = plan.todo.get(suiteArchKey(suite, arch))?.names;
    if (names) return task(names);
    return listsDue(fragmentDir, suite, arch, plan.asOf) ? task([]) : [];
  });
}

/**
 * The package pages in batches. A full render fills a package folder that does not exist yet under
 * another name, then renames it into place: one rename, not one per page (pages appear all at once).
 */
function batchTasks(ctx: RenderContext, plan: RenderPlan, batch: number): { tasks: Task[]; staged: Map<string, { dir: string; left: number }> } {
  const tasks: Task[] = [];
  const staged = new Map<string, { dir: string; left: number }>();
  for (const u of plan.todo.values()) {
    const final = ctx.writer.path(`rb-pkg/${u.suite}/${u.arch}`);
    const k = suiteArchKey(u.suite, u.arch);
    if (plan.full && u.names.length > 0 && !existsSync(final)) staged.set(k, { dir: stagingDir(final), left: Math.ceil(u.names.length / batch) });
    const stage = staged.get(k)?.dir;
    for (let i = 0; i < u.names.length; i += batch)
      tasks.push({ type: 'batch', suite: u.suite, arch: u.arch, names: u.names.slice(i, i + batch), ...(stage ? { stage } : {}) });
  }
  return { tasks, staged };
}

/** Where a full render fills a package folder that does not exist yet (a dot name: neither served nor crawled). */
function stagingDir(final: string): string {
  return join(dirname(final), `.${basename(final)}.staging`);
}

/** Staging folders a render that did not finish left behind (the lock is held: none is in use). */
export function removeStaging(ctx: RenderContext): void {
  const w = ctx.writer;
  let suites: string[];
  try {
    suites = readdirSync(w.path('rb-pkg'));
  } catch {
    return;
  }
  for (const suite of suites) {
    let entries: string[];
    try {
      entries = readdirSync(w.path(`rb-pkg/${suite}`));
    } catch {
      continue;
    }
    for (const e of entries) if (e.startsWith('.') && e.endsWith('.staging')) rmSync(w.path(`rb-pkg/${suite}/${e}`), { recursive: true, force: true });
  }
}

/** Put a filled staging folder in place; should the folder have appeared meanwhile, file by file. */
function unstage(dir: string, final: string): void {
  try {
    renameSync(dir, final);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  for (const f of readdirSync(dir)) renameSync(join(dir, f), join(final, f));
  rmSync(dir, { recursive: true, force: true });
}
