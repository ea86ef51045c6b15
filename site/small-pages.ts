/**
 * The second phase of a render, every time: each suite/arch's schedule page
 * and dashboard charts, nodes.html, variations.html and the static files.
 * They show node health and the variations as of the DB's newest timestamp.
 * What is costly to make again is kept between renders under
 * `.reprofarm/index/` and made again only when what it shows changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { nodeInformationFile } from '../core/paths.js';
import { allChroots } from '../db/chroots.js';
import { suiteArchKey, suiteArchs, type RenderContext, type SuiteArch } from './context.js';
import { JsonCache } from './json-cache.js';
import { CHART_DAYS, lastChartDay, suiteArchCharts } from './model-dashboard.js';
import { lastTwoCollections } from '../db/site-facts.js';
import { factsDiff } from './facts-diff.js';
import { nodesView } from './model-nodes.js';
import type { PastBars } from './charts.js';
import type { TextDiff } from './text-diff.js';
import { scheduledView } from './model-status.js';
import { jobVariations, variationsView, type JobInput, type JobVariations } from './model-variations.js';
import type { RenderPlan } from './plan.js';
import { templatesDir } from './render.js';

/** What the dashboard (the last phase) shows of a suite/arch besides its counts. */
export interface DashboardEntry extends SuiteArch {
  building: number;
  waiting: number;
  /** the cache files its two charts are in */
  charts: { share: string; builds: string };
}

/** Render the small pages; returns the dashboard's entries and how many files were written. */
export function renderSmallPages(ctx: RenderContext, plan: RenderPlan): { dashboard: DashboardEntry[]; pages: number } {
  mkdirSync(ctx.paths.indexDir, { recursive: true });
  const { dashboard, pages } = renderSchedulesAndCharts(ctx, plan);
  const offsets = renderNodesPage(ctx, plan);
  renderVariationsPage(ctx, plan, offsets);
  return { dashboard, pages: pages + 2 + copyStatic(ctx) };
}

/** What the last render saw of a suite/arch's schedule. */
interface ScheduleState {
  /** schedule_versions.version */
  version: number;
  /** of the rows its page shows */
  hash: string;
  building: number;
  waiting: number;
}

/**
 * Each suite/arch's schedule page and charts. A schedule is read again when the DB's version of it
 * moved (or a package of that suite/arch changed: whether it has a page to link to), and its page
 * written when its rows changed; the charts are drawn again where a result changed, or when a new day began.
 */
function renderSchedulesAndCharts(ctx: RenderContext, plan: RenderPlan): { dashboard: DashboardEntry[]; pages: number } {
  const cache = new JsonCache<Record<string, ScheduleState>>(join(ctx.paths.indexDir, 'schedule.json'));
  const last = (plan.full ? undefined : cache.read()) ?? {};
  const versions = ctx.reader.scheduleVersions();
  const from = new Date(Date.parse(`${lastChartDay(plan.asOf)}T00:00:00Z`) - (CHART_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const seen: Record<string, ScheduleState> = {};
  let pages = 0;
  const dashboard = suiteArchs(ctx.config).map((sa) => {
    const s = renderSchedulePage(ctx, plan, sa, last[`${sa.suite}/${sa.arch}`], versions.get(suiteArchKey(sa.suite, sa.arch)) ?? 0);
    if (s.written) pages++;
    seen[`${sa.suite}/${sa.arch}`] = s.state;
    return { suite: sa.suite, arch: sa.arch, building: s.state.building, waiting: s.state.waiting, charts: renderCharts(ctx, plan, sa, from) };
  });
  cache.write(seen);
  return { dashboard, pages };
}

function renderSchedulePage(
  ctx: RenderContext,
  plan: RenderPlan,
  { suite, arch }: SuiteArch,
  last: ScheduleState | undefined,
  version: number,
): { state: ScheduleState; written: boolean } {
  const rel = `${suite}/${arch}/index_scheduled.html`;
  if (last && last.version === version && !plan.todo.has(suiteArchKey(suite, arch)) && existsSync(ctx.writer.path(rel))) return { state: last, written: false };
  const rows = ctx.reader.schedule(suite, arch);
  const hash = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
  const building = rows.filter((r) => r.claimed_at !== null).length;
  const written = last?.hash !== hash || !existsSync(ctx.writer.path(rel));
  if (written) ctx.writer.write(rel, ctx.renderer.render('scheduled', scheduledView(suite, arch, rows)));
  return { state: { version, hash, building, waiting: rows.length - building }, written };
}

/**
 * The dashboard's two charts of one suite/arch, kept between renders: `<suite>_<arch>.json`
 * says up to which day they were drawn, `.share.html` and `.builds.html` hold them, and
 * `.builds-past.html` the bars of the days before the last (charts.ts PastBars: its key, a
 * newline, its SVG).
 */
interface ChartsCache {
  /** the last day they show */
  to: string;
}

function renderCharts(ctx: RenderContext, plan: RenderPlan, { suite, arch }: SuiteArch, from: string): { share: string; builds: string } {
  const base = join(ctx.paths.indexDir, `${suite}_${arch}`);
  const files = { share: `${base}.share.html`, builds: `${base}.builds.html`, past: `${base}.builds-past.html` };
  const cache = new JsonCache<ChartsCache>(`${base}.json`);
  const last = plan.full ? undefined : cache.read();
  const to = lastChartDay(plan.asOf);
  // (a build recorded late into the charts' days changed a result of this suite/arch too)
  const fresh = last && !plan.todo.has(suiteArchKey(suite, arch)) && last.to === to && existsSync(files.share) && existsSync(files.builds);
  if (!fresh) {
    // a new result changes the last day's bar: the other days' are drawn again only when what they show moved
    const kept = last ? keptBars(files.past) : undefined;
    const charts = suiteArchCharts(ctx.reader.daily(suite, arch, from), plan.asOf, kept);
    writeFileAtomicSync(files.share, ctx.renderer.chart('chart-share', charts.share));
    writeFileAtomicSync(files.builds, ctx.renderer.chart('chart-bars', charts.builds));
    const { past } = charts.builds;
    if (past.key !== kept?.key) writeFileAtomicSync(files.past, `${past.key}\n${past.html}`);
    cache.write({ to });
  }
  return files;
}

function keptBars(file: string): PastBars | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const nl = text.indexOf('\n');
  return nl < 0 ? undefined : { key: text.slice(0, nl), html: text.slice(nl + 1) };
}

/** nodes.html, with each configured node's node-information file published; returns each node's clock offset. */
function renderNodesPage(ctx: RenderContext, plan: RenderPlan): Map<string, number | null> {
  const { config, reader, writer } = ctx;
  const configured = [...config.nodes.values()].map((n) => {
    const info = writer.copyIn(nodeInformationFile(config.stateDir, n.name), `node-information/${n.name}.txt`) ? `node-information/${n.name}.txt` : null;
    return { name: n.name, transport: n.transport === 'local' ? 'local' : `ssh ${n.user}@${n.host}:${n.port}`, arch: n.arch ?? null, offline: n.offline, info };
  });
  const rows = reader.nodes();
  const stats = plan.asOf ? reader.nodeBuildStats(plan.asOf) : [];
  const chroots = { rows: allChroots(reader.db), wanted: config.build.backend === 'chroot' ? config.suites : [] };
  const changes = new Map<string, TextDiff>();
  for (const n of rows) {
    const d = factsDiff(lastTwoCollections(reader.db, n.name));
    if (d) changes.set(n.name, d);
  }
  writer.write('nodes.html', ctx.renderer.render('nodes', nodesView(configured, rows, stats, plan.asOf, config.collect.interval, chroots, changes)));
  return new Map(rows.map((n) => [n.name, n.clock_offset_s]));
}

/** Each job's variation rows as the last render made them, by the window of builds they are of. */
interface VariationsCache {
  /** raised when jobVariations' output changes shape or meaning */
  version: number;
  recent: number;
  jobs: Record<string, { window: string; summary: JobVariations }>;
}
const VARIATIONS_CACHE_VERSION = 1;

/** variations.html. A job's variation rows are kept from the last render, and made again only when its recent builds are others. */
function renderVariationsPage(ctx: RenderContext, plan: RenderPlan, offsets: ReadonlyMap<string, number | null>): void {
  const { config, reader } = ctx;
  const recent = config.site.recentBuilds;
  const cache = new JsonCache<VariationsCache>(
    join(ctx.paths.indexDir, 'variations.json'),
    (c) => c.version === VARIATIONS_CACHE_VERSION && c.recent === recent && Boolean(c.jobs),
  );
  const kept = (plan.full ? undefined : cache.read()?.jobs) ?? {};
  const now: VariationsCache['jobs'] = {};
  let changed = false;
  const facts = (node: string): JobInput['facts1'] => {
    const f = reader.latestFacts(node);
    return f ? { ...f, offset: offsets.get(node) ?? null } : undefined;
  };
  const jobs = [...config.jobs.values()].map((j) => {
    const window = reader.recentWindow(j.name, recent);
    let k = kept[j.name];
    if (k?.window !== window) {
      k = { window, summary: jobVariations(reader.recentRuns(j.name, recent)) };
      changed = true;
    }
    now[j.name] = k;
    return { name: j.name, node1: j.nodes[0], node2: j.nodes[1], facts1: facts(j.nodes[0]), facts2: facts(j.nodes[1]), summary: k.summary };
  });
  if (changed || Object.keys(kept).length !== jobs.length) cache.write({ version: VARIATIONS_CACHE_VERSION, recent, jobs: now });
  ctx.writer.write(
    'variations.html',
    ctx.renderer.render('variations', variationsView(jobs, config.site.varyFacts, recent, plan.asOf, config.collect.interval)),
  );
}

/** Static files (stylesheet, script) into site_dir/static, when changed. */
function copyStatic(ctx: RenderContext): number {
  const src = join(templatesDir(), 'static');
  let n = 0;
  for (const name of readdirSync(src).sort()) {
    const data = readFileSync(join(src, name));
    const target = ctx.writer.path(`static/${name}`);
    if (existsSync(target) && readFileSync(target).equals(data)) continue;
    ctx.writer.write(`static/${name}`, data);
    n++;
  }
  return n;
}
