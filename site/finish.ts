/**
 * The last phase of a render: the dashboard (and the public keys it links), culprits.html and
 * reproducible.json, which need every suite/arch's status pages done; after a full render, the pages
 * and files of packages that are gone; then what the next render needs to
 * know (how far this one got).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fragmentFile, suiteArchKey, suiteArchs, type RenderContext } from './context.js';
import type { JsonCache } from './json-cache.js';
import { publishKeys, removeAttestations } from './attestations.js';
import { packageApiDir } from './package-api.js';
import { breakagesView } from './breakages.js';
import { brokenSummary } from './breakages-cache.js';
import { culpritsView } from './model-culprits.js';
import { indexView, type ChartsHtml } from './model-dashboard.js';
import type { PackagePagesResult } from './package-pages.js';
import type { RenderPlan, SiteState } from './plan.js';
import type { DashboardEntry } from './small-pages.js';
import { statusPagesState } from './status-pages.js';
import type { Piece } from './pieces.js';
import { pruneAssets, type PendingFile, type SiteWriter } from './writer.js';
import { ComposeThread } from './compose-thread.js';

/** The change log is pruned once this many rendered changes are in it (see SiteReader.markRendered). */
const PRUNE_CHANGES_AT = 10_000;

/** Stands for a cached chart when the dashboard is rendered around them (a NUL cannot come out of an escaped template). */
const chartMark = (i: number): string => `\0chart${i}\0`;

/**
 * index.html, with each suite/arch's counts as its status pages have them.
 * The charts, megabytes of SVG, are streamed in from their cache files at their marks.
 */
export function renderDashboard(ctx: RenderContext, plan: RenderPlan, dashboard: readonly DashboardEntry[]): void {
  const chartFiles: string[] = [];
  const inputs = dashboard.map((d) => {
    const counts = new Map(Object.entries(statusPagesState(ctx.paths.fragmentDir, d.suite, d.arch).read()?.counts ?? {}));
    const chartsHtml: ChartsHtml = { share: chartMark(chartFiles.push(d.charts.share) - 1), builds: chartMark(chartFiles.push(d.charts.builds) - 1) };
    return {
      suite: d.suite,
      arch: d.arch,
      building: d.building,
      waiting: d.waiting,
      counts,
      known: [...counts.values()].reduce((a, b) => a + b, 0),
      chartsHtml,
    };
  });
  const html = ctx.renderer.render('index', indexView(inputs, plan.asOf, publishKeys(ctx.writer, ctx.config.stateDir)));
  ctx.writer.compose(
    'index.html',
    html.split(/\0chart(\d+)\0/).map((part, i) => (i % 2 === 0 ? part : { file: chartFiles[Number(part)] ?? '' })),
  );
}

/** culprits.html, with each suite/arch's FTBR packages per culprit as its status pages have them. */
export function renderCulprits(ctx: RenderContext, plan: RenderPlan): void {
  const inputs = suiteArchs(ctx.config).map(({ suite, arch }) => {
    const state = statusPagesState(ctx.paths.fragmentDir, suite, arch).read();
    return { suite, arch, ftbr: state?.counts.FTBR ?? 0, groups: state?.groups ?? {} };
  });
  ctx.writer.write('culprits.html', ctx.renderer.render('culprits', culpritsView(inputs, plan.asOf)));
}

/** breakages.html: the checks of breakages.ts, the file findings as the package pages found them. */
export function renderBreakages(ctx: RenderContext, plan: RenderPlan): void {
  const { findings, unlisted } = brokenSummary(ctx.paths.fragmentDir, suiteArchs(ctx.config));
  const view = breakagesView({ config: ctx.config, db: ctx.reader.db, asOf: plan.asOf, packageFindings: findings, unlisted });
  ctx.writer.write('breakages.html', ctx.renderer.render('breakages', view));
}

/**
 * reproducible.json: `[`, the non-empty fragments joined by `,`, `]`. At Debian
 * scale that is tens of megabytes of which one fragment changed: the
 * fragments are streamed into it, not read into this process, and on the
 * compose thread when one is given, while this one renders the other pages.
 * Resolves to the file written beside its target: the caller commits it.
 */
export function writeReproducibleJson(ctx: RenderContext, thread: ComposeThread | undefined): Promise<PendingFile> {
  const { fragmentDir } = ctx.paths;
  const pieces: Piece[] = ['[\n'];
  for (const { suite, arch } of suiteArchs(ctx.config)) {
    const file = fragmentFile(fragmentDir, suite, arch);
    if (statSync(file).size === 0) continue;
    if (pieces.length > 1) pieces.push(',\n');
    pieces.push({ file });
  }
  pieces.push('\n]\n');
  // what an older reprofarm joined them with
  rmSync(join(fragmentDir, 'glue'), { recursive: true, force: true });
  if (!thread) return Promise.resolve(ctx.writer.prepare(REPRODUCIBLE_JSON, pieces));
  return ctx.writer.prepareWith(REPRODUCIBLE_JSON, (tmp) => thread.compose(tmp, pieces));
}

const REPRODUCIBLE_JSON = 'reproducible.json';

/** Past this size the last reproducible.json had, the next is composed on a thread of its own (SiteOptions.composeThreadFrom). */
export const COMPOSE_THREAD_FROM = 16 << 20;

/** A compose thread for reproducible.json when the last one was at least `from` bytes (a small one is written faster than a thread starts). */
export function composeThreadFor(siteDir: string, from: number): ComposeThread | undefined {
  const last = statSync(join(siteDir, REPRODUCIBLE_JSON), { throwIfNoEntry: false });
  return last && last.size >= from ? new ComposeThread() : undefined;
}

/** After a full render: the pages, logs and reports of packages that are no longer there. Returns the pages removed. */
export function removeGone(ctx: RenderContext, plan: RenderPlan, written: PackagePagesResult['written']): number {
  let removed = 0;
  for (const u of plan.todo.values()) {
    const m = written.get(suiteArchKey(u.suite, u.arch)) ?? new Map<string, number | null>();
    removed += removeStale(ctx.writer, `rb-pkg/${u.suite}/${u.arch}`, new Set(m.keys()), '.html');
    removeAttestations(ctx.writer, u.suite, u.arch, (p) => !m.has(p));
    removeStale(ctx.writer, packageApiDir(u.suite, u.arch), new Set(m.keys()), '.json');
    for (const top of ['logs', 'dbd']) {
      let pkgs: string[];
      try {
        pkgs = readdirSync(ctx.writer.path(`${top}/${u.suite}/${u.arch}`));
      } catch {
        continue;
      }
      for (const p of pkgs) pruneAssets(ctx.writer, u.suite, u.arch, p, m.get(p) ?? null);
    }
  }
  return removed;
}

/** Delete files in `rel` (one folder) that were not written. */
function removeStale(w: SiteWriter, rel: string, keep: ReadonlySet<string>, ext: string): number {
  let entries: string[];
  try {
    entries = readdirSync(w.path(rel));
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) {
    if (!e.endsWith(ext) || keep.has(e.slice(0, -ext.length))) continue;
    if (w.remove(`${rel}/${e}`)) n++;
  }
  return n;
}

/** Remember how far this render got: in the DB's change log, and in `.reprofarm/state.json`. */
export function recordRender(ctx: RenderContext, state: JsonCache<SiteState>, done: SiteState): void {
  ctx.reader.markRendered(done.seq, PRUNE_CHANGES_AT);
  state.write(done);
}
