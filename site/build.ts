/**
 * The site builder: reads reproducible.db (one snapshot) into view models,
 * renders them and writes `site_dir`. Incremental by default: package pages
 * are rendered for the packages the DB's change log names since the last
 * run, plus the status pages and JSON of the suites and architectures they
 * belong to (spliced when few changed: status-pages.ts), the schedule pages
 * whose schedule changed, and the dashboard, nodes and variations pages.
 * Every file is written beside its target and renamed over it (or, in a full
 * render, a new package folder is filled under another name and renamed
 * once), so a browser never sees half a page. Bookkeeping lives in
 * `<site_dir>/.reprofarm/`.
 */
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../core/config.js';
import { writeFileAtomicSync } from '../core/atomic.js';
import { ReprofarmError } from '../core/errors.js';
import { processAlive } from '../core/process.js';
import { nodeInformationFile, projectRoot } from '../core/paths.js';
import type { FarmDb } from '../db/index.js';
import { SiteReader } from '../db/site.js';
import { CHART_DAYS, indexView, lastChartDay, suiteArchCharts, type ChartsHtml } from './model-dashboard.js';
import { nodesView } from './model-nodes.js';
import { scheduledView } from './model-status.js';
import { jobVariations, variationsView, type JobVariations } from './model-variations.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './package-worker.js';
import { renderPackageBatch, type BatchResult } from './packages.js';
import { JsonCache } from './json-cache.js';
import { renderStatusPages, statusPagesState } from './status-pages.js';
import { Renderer, templatesDir, templatesHash } from './render.js';
import { emptyTrash, pruneAssets, SiteWriter, type Piece } from './writer.js';

export type SiteEvent =
  | { type: 'mode'; mode: 'full' | 'incremental'; why: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'skipped'; what: string; why: string };

export interface SiteOptions {
  full?: boolean;
  onEvent?: (e: SiteEvent) => void;
  /** package names per DB query and render batch */
  batch?: number;
  /** worker threads for the package pages (default: none for a few pages, else up to 4, one per core) */
  threads?: number;
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

interface SiteState {
  version: 1;
  /** RENDERING of the render that wrote the pages (absent before 2) */
  rendering?: number;
  templates: string;
  settings: string;
  seq: number;
}

const STATE_DIR = '.reprofarm';

/**
 * Raised when this code renders the same DB and templates into other bytes, so
 * that the next render is a full one (else the pages it does not touch keep the
 * old bytes). 2: controls and bidi controls shown as `\u202e` (format.ts).
 */
const RENDERING = 2;

export class SiteLockedError extends ReprofarmError {}

function settingsHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify({
    suites: config.suites, arches: config.architectures, stateDir: config.stateDir,
    nodes: [...config.nodes.values()].map((n) => [n.name, n.transport, n.host, n.port, n.user, n.arch ?? null, n.offline]),
    jobs: [...config.jobs.values()].map((j) => [j.name, j.nodes]),
    site: config.site, interval: config.collect.interval, chartDays: CHART_DAYS,
  })).digest('hex');
}

function siteState(file: string): JsonCache<SiteState> {
  return new JsonCache<SiteState>(file,
    (v) => v.version === 1 && typeof v.seq === 'number' && typeof v.templates === 'string' && typeof v.settings === 'string',
    { newline: true });
}

/** One site render at a time per site_dir; a lock left by a dead process on this host is taken over. */
function lock(stateDir: string): () => void {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${hostname()} ${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [host, pidText] = readFileSync(file, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (host === hostname() && Number.isInteger(pid) && !processAlive(pid)) {
        rmSync(file, { force: true });
        continue;
      }
      throw new SiteLockedError(`another site render is running (${host ?? '?'} pid ${pidText ?? '?'}, lock ${file})`, {
        advice: 'wait for it to finish; if that process is gone, remove the lock file',
      });
    }
  }
  throw new SiteLockedError(`could not take the site lock ${file}`);
}

/**
 * The temporary folders (`tmp-PID-THREAD`, see SiteWriter) of renders whose
 * process is gone: a render that failed or was killed leaves its partial
 * files there. A folder of a process still alive is kept, whatever it is
 * doing; this process's own are removed at the end of its render.
 */
function removeDeadTemps(stateDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(stateDir);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^tmp-([1-9][0-9]*)-[0-9]+$/.exec(e);
    const pid = Number(m?.[1]);
    if (!m || !Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(stateDir, e), { recursive: true, force: true });
  }
}

/** Static files (stylesheet, script) into site_dir/static, when changed. */
function copyStatic(w: SiteWriter): number {
  const src = join(templatesDir(), 'static');
  let n = 0;
  for (const name of readdirSync(src).sort()) {
    const data = readFileSync(join(src, name));
    const target = w.path(`static/${name}`);
    if (existsSync(target) && readFileSync(target).equals(data)) continue;
    w.write(`static/${name}`, data);
    n++;
  }
  return n;
}

export async function buildSite(config: Config, db: FarmDb, opts: SiteOptions = {}): Promise<SiteSummary> {
  const started = performance.now();
  const siteDir = config.siteDir;
  const stateDir = join(siteDir, STATE_DIR);
  const unlock = lock(stateDir);
  removeDeadTemps(stateDir);
  const pool: PoolWorker[] = [];
  // what the last render replaced is freed meanwhile
  const freeing = emptyTrash(siteDir);
  try {
    return await render(config, db, opts, siteDir, stateDir, started, pool);
  } finally {
    await Promise.all(pool.map((p) => p.worker.terminate()));
    await freeing.catch(() => undefined);
    unlock();
  }
}

/**
 * The dashboard's two charts of one suite/arch, rendered from its daily
 * builds and kept between renders (until a result of the suite/arch changes
 * or a day begins): `<suite>_<arch>.json` says up to which day, `.share.html`
 * and `.builds.html` hold them.
 */
interface ChartsCache {
  /** the last day they show */
  to: string;
}

/** Each job's variation rows as the last render made them (variations.html), by the window of builds they are of. */
interface VariationsCache {
  /** raised when jobVariations' output changes shape or meaning */
  version: number;
  recent: number;
  jobs: Record<string, { window: string; summary: JobVariations }>;
}
const VARIATIONS_CACHE_VERSION = 1;

/** What the last render saw of a suite/arch's schedule. */
interface ScheduleState {
  /** schedule_versions.version */
  version: number;
  /** of the rows its page shows */
  hash: string;
  building: number;
  waiting: number;
}

/** Stands for a cached chart when the dashboard is rendered around them (a NUL cannot come out of an escaped template). */
const chartMark = (i: number): string => `\0chart${i}\0`;

type Task = { type: 'status'; suite: string; arch: string; names: string[] | undefined } | { type: 'batch'; suite: string; arch: string; names: string[]; stage?: string };

interface SuiteArchPackages {
  suite: string;
  arch: string;
  names: string[];
}

/** The change log is pruned once this many rendered changes are in it (see SiteReader.markRendered). */
const PRUNE_CHANGES_AT = 10_000;

/** Below this many package pages, rendering inline beats starting worker threads. */
const WORKER_THRESHOLD = 4000;

async function render(config: Config, db: FarmDb, opts: SiteOptions, siteDir: string, stateDir: string, started: number, pool: PoolWorker[]): Promise<SiteSummary> {
  const emit = opts.onEvent ?? ((): void => undefined);
  const batch = opts.batch ?? 250;
  const reader = new SiteReader(db);
  const renderer = new Renderer();
  const w = new SiteWriter(siteDir);
  const stateFile = siteState(join(stateDir, 'state.json'));
  const state = stateFile.read();
  const templates = templatesHash();
  const settings = settingsHash(config);
  const summary: SiteSummary = {
    mode: 'full', why: '', packagePages: 0, deletedPages: 0, statusPages: 0, splicedUnits: 0, otherPages: 0, files: 0, seq: 0, durationMs: 0,
    phasesMs: { packages: 0, other: 0 },
  };
  const key = (s: string, a: string): string => `${s}\0${a}`;
  const dashboard: { suite: string; arch: string; building: number; waiting: number; charts: { share: string; builds: string } }[] = [];

  const fragmentDir = join(stateDir, 'json');

  // 1. one snapshot: what changed, the status pages, the JSON and the small pages
  const { todo, asOf, full, total } = reader.snapshot(() => {
    const seq = reader.changeSeq();
    summary.seq = seq;
    let why = '';
    if (opts.full) why = '--full';
    else if (!state) why = 'no previous render in this site_dir';
    else if ((state.rendering ?? 1) !== RENDERING) why = 'this reprofarm renders pages differently';
    else if (state.templates !== templates) why = 'the templates changed';
    else if (state.settings !== settings) why = 'the configuration changed';
    else if (state.seq < reader.prunedThrough() || state.seq > seq) why = 'the DB\'s change log does not continue from the last render';
    const full = why !== '';
    summary.mode = full ? 'full' : 'incremental';
    summary.why = full ? why : `changes ${state?.seq ?? 0}..${seq}`;
    emit({ type: 'mode', mode: summary.mode, why: summary.why });
    const asOf = reader.asOf();

    const todo = new Map<string, SuiteArchPackages>();
    if (full) {
      for (const suite of config.suites) {
        const names = reader.sourceNames(suite);
        for (const arch of config.architectures) todo.set(key(suite, arch), { suite, arch, names });
      }
    } else {
      const suites = new Set(config.suites);
      const arches = new Set(config.architectures);
      const sets = new Map<string, Set<string>>();
      for (const c of reader.changesBetween(state?.seq ?? 0, seq)) {
        if (!suites.has(c.suite) || (c.arch !== null && !arches.has(c.arch))) continue;
        for (const arch of c.arch === null ? config.architectures : [c.arch]) {
          const k = key(c.suite, arch);
          let s = sets.get(k);
          if (!s) sets.set(k, (s = new Set()));
          s.add(c.package);
        }
      }
      for (const [k, s] of sets) {
        const [suite, arch] = k.split('\0') as [string, string];
        todo.set(k, { suite, arch, names: [...s].sort() });
      }
    }

    // worker threads for many pages start now: they load and open the DB while the small pages are rendered
    const pages = [...todo.values()].reduce((n, u) => n + u.names.length, 0);
    const threads = opts.threads ?? (pages >= WORKER_THRESHOLD ? Math.max(1, Math.min(availableParallelism(), 4)) : 0);
    for (let i = 0; i < threads; i++) pool.push(startWorker({ dbPath: db.path, siteDir, stateDir: config.stateDir, asOf, full, fragmentDir }));

    const t0 = performance.now();
    // the small pages, every time: they show node health and the variations as of the DB's newest timestamp
    // the schedule pages: read again when the DB's version of that schedule moved (or a package of
    // that suite/arch changed: whether it has a page to link to), written when their rows changed
    const scheduleFile = new JsonCache<Record<string, ScheduleState>>(join(stateDir, 'index', 'schedule.json'));
    mkdirSync(join(stateDir, 'index'), { recursive: true });
    const scheduleState = (full ? undefined : scheduleFile.read()) ?? {};
    const versions = reader.scheduleVersions();
    const newScheduleState: Record<string, ScheduleState> = {};
    // the dashboard's charts per suite/arch: drawn again where a result changed, or when a new day began
    const from = new Date(Date.parse(`${lastChartDay(asOf)}T00:00:00Z`) - (CHART_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    for (const suite of config.suites) {
      for (const arch of config.architectures) {
        const rel = `${suite}/${arch}/index_scheduled.html`;
        const version = versions.get(key(suite, arch)) ?? 0;
        let sched = scheduleState[`${suite}/${arch}`];
        if (!sched || sched.version !== version || todo.has(key(suite, arch)) || !existsSync(w.path(rel))) {
          const rows = reader.schedule(suite, arch);
          const hash = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
          const building = rows.filter((r) => r.claimed_at !== null).length;
          if (sched?.hash !== hash || !existsSync(w.path(rel))) {
            w.write(rel, renderer.render('scheduled', scheduledView(suite, arch, rows)));
            summary.otherPages++;
          }
          sched = { version, hash, building, waiting: rows.length - building };
        }
        newScheduleState[`${suite}/${arch}`] = sched;
        const base = join(stateDir, 'index', `${suite}_${arch}`);
        const files = { share: `${base}.share.html`, builds: `${base}.builds.html` };
        const to = lastChartDay(asOf);
        const chartsCache = new JsonCache<ChartsCache>(`${base}.json`);
        // (a build recorded late into the charts' days changed a result of this suite/arch too)
        const fresh = !full && !todo.has(key(suite, arch)) && chartsCache.read()?.to === to && existsSync(files.share) && existsSync(files.builds);
        if (!fresh) {
          const charts = suiteArchCharts(reader.daily(suite, arch, from), asOf);
          writeFileAtomicSync(files.share, renderer.chart('chart-share', charts.share));
          writeFileAtomicSync(files.builds, renderer.chart('chart-bars', charts.builds));
          chartsCache.write({ to });
        }
        dashboard.push({ suite, arch, building: sched.building, waiting: sched.waiting, charts: files });
      }
    }
    scheduleFile.write(newScheduleState);
    const configured = [...config.nodes.values()].map((n) => {
      const info = w.copyIn(nodeInformationFile(config.stateDir, n.name), `node-information/${n.name}.txt`) ? `node-information/${n.name}.txt` : null;
      return { name: n.name, transport: n.transport === 'local' ? 'local' : `ssh ${n.user}@${n.host}:${n.port}`, arch: n.arch ?? null, offline: n.offline, info };
    });
    const nodeRows = reader.nodes();
    w.write('nodes.html', renderer.render('nodes', nodesView(configured, nodeRows, asOf ? reader.nodeBuildStats(asOf) : [], asOf, config.collect.interval)));
    const offsets = new Map(nodeRows.map((n) => [n.name, n.clock_offset_s]));
    const facts = (node: string): { at: string; facts: Map<string, string>; offset: number | null } | undefined => {
      const f = reader.latestFacts(node);
      return f ? { ...f, offset: offsets.get(node) ?? null } : undefined;
    };
    // each job's variation rows are kept from the last render, and made again only when its recent builds are others
    const recent = config.site.recentBuilds;
    const variationsFile = new JsonCache<VariationsCache>(join(stateDir, 'index', 'variations.json'),
      (c) => c.version === VARIATIONS_CACHE_VERSION && c.recent === recent && Boolean(c.jobs));
    const kept = (full ? undefined : variationsFile.read()?.jobs) ?? {};
    const nowKept: VariationsCache['jobs'] = {};
    let cacheChanged = false;
    const jobs = [...config.jobs.values()].map((j) => {
      const window = reader.recentWindow(j.name, recent);
      let k = kept[j.name];
      if (k?.window !== window) {
        k = { window, summary: jobVariations(reader.recentRuns(j.name, recent)) };
        cacheChanged = true;
      }
      nowKept[j.name] = k;
      return { name: j.name, node1: j.nodes[0], node2: j.nodes[1], facts1: facts(j.nodes[0]), facts2: facts(j.nodes[1]), summary: k.summary };
    });
    if (cacheChanged || Object.keys(kept).length !== jobs.length) {
      variationsFile.write({ version: VARIATIONS_CACHE_VERSION, recent, jobs: nowKept });
    }
    w.write('variations.html', renderer.render('variations', variationsView(jobs, config.site.varyFacts, recent, asOf, config.collect.interval)));
    summary.otherPages += 2;
    summary.otherPages += copyStatic(w);
    if (full) removeUnconfigured(w, config);
    removeStaging(w);
    summary.phasesMs.other = performance.now() - t0;
    return { todo, asOf, full, total: pages };
  });

  // 2. status pages and JSON fragments of every suite/arch whose packages changed (all on a full render),
  //    and the package pages: inline, or on worker threads when there are many
  mkdirSync(fragmentDir, { recursive: true });
  const statusSuiteArchs: { suite: string; arch: string; names: string[] | undefined }[] = [];
  for (const suite of config.suites) {
    for (const arch of config.architectures) {
      if (full || todo.has(key(suite, arch)) || !existsSync(join(fragmentDir, `${suite}_${arch}.json`)) || !statusPagesState(fragmentDir, suite, arch).read()) {
        statusSuiteArchs.push({ suite, arch, names: full ? undefined : todo.get(key(suite, arch))?.names });
      }
    }
  }

  const t1 = performance.now();
  const todoSuiteArchs = [...todo.values()];
  const builds = new Map<string, Map<string, number | null>>();
  const tasks: Task[] = statusSuiteArchs.map((u) => ({ type: 'status', ...u }));
  // a full render fills a package folder that does not exist yet under another name, then renames it
  // into place: one rename, not one per page (pages appear all at once)
  const staged = new Map<string, { dir: string; left: number }>();
  for (const u of todoSuiteArchs) {
    builds.set(key(u.suite, u.arch), new Map());
    const final = w.path(`rb-pkg/${u.suite}/${u.arch}`);
    if (full && u.names.length > 0 && !existsSync(final)) staged.set(key(u.suite, u.arch), { dir: stagingDir(final), left: Math.ceil(u.names.length / batch) });
    const stage = staged.get(key(u.suite, u.arch))?.dir;
    for (let i = 0; i < u.names.length; i += batch) tasks.push({ type: 'batch', suite: u.suite, arch: u.arch, names: u.names.slice(i, i + batch), ...(stage ? { stage } : {}) });
  }
  let done = 0;
  const take = (j: Task, r: BatchResult & { statusPages: number; spliced: number }): void => {
    summary.statusPages += r.statusPages;
    summary.splicedUnits += r.spliced;
    if (j.type === 'status') return;
    summary.packagePages += r.pages;
    summary.deletedPages += r.deleted;
    const m = builds.get(key(j.suite, j.arch));
    for (const [n, id] of r.written) m?.set(n, id);
    for (const n of r.skipped) emit({ type: 'skipped', what: `package ${JSON.stringify(n)} in ${j.suite}`, why: 'not a valid source package name' });
    done += j.names.length;
    emit({ type: 'progress', done, total });
    const st = staged.get(key(j.suite, j.arch));
    if (st && --st.left === 0) unstage(st.dir, w.path(`rb-pkg/${j.suite}/${j.arch}`));
  };
  if (pool.length === 0) {
    const ctx = { reader, renderer, writer: w, stateDir: config.stateDir, asOf, full };
    for (const j of tasks) {
      if (j.type === 'status') take(j, { pages: 0, deleted: 0, written: [], skipped: [], ...renderStatusPages(ctx, j.suite, j.arch, fragmentDir, j.names) });
      else take(j, { ...renderPackageBatch(ctx, j.suite, j.arch, j.names, j.stage), statusPages: 0, spliced: 0 });
    }
  } else {
    w.files += await renderOnWorkers(pool, tasks, take);
  }
  // the dashboard, with each suite/arch's counts as its status pages have them; reproducible.json from the fragments
  // (the charts, megabytes of SVG, are streamed in from their cache files at their marks)
  const chartFiles: string[] = [];
  const inputs = dashboard.map((d) => {
    const counts = new Map(Object.entries(statusPagesState(fragmentDir, d.suite, d.arch).read()?.counts ?? {}));
    const chartsHtml: ChartsHtml = { share: chartMark(chartFiles.push(d.charts.share) - 1), builds: chartMark(chartFiles.push(d.charts.builds) - 1) };
    return { suite: d.suite, arch: d.arch, building: d.building, waiting: d.waiting, counts, known: [...counts.values()].reduce((a, b) => a + b, 0), chartsHtml };
  });
  w.compose('index.html', renderer.render('index', indexView(inputs, asOf)).split(/\0chart(\d+)\0/).map((part, i) => (i % 2 === 0 ? part : { file: chartFiles[Number(part)] ?? '' })));
  writeJson(w, fragmentDir, config);
  summary.otherPages += 2;
  if (full) {
    // pages, logs and reports of packages that are no longer there
    for (const u of todoSuiteArchs) {
      const m = builds.get(key(u.suite, u.arch)) ?? new Map<string, number | null>();
      summary.deletedPages += removeStale(w, `rb-pkg/${u.suite}/${u.arch}`, new Set(m.keys()), '.html');
      for (const top of ['logs', 'dbd']) {
        let pkgs: string[];
        try {
          pkgs = readdirSync(w.path(`${top}/${u.suite}/${u.arch}`));
        } catch {
          continue;
        }
        for (const p of pkgs) pruneAssets(w, u.suite, u.arch, p, m.get(p) ?? null);
      }
    }
  }
  summary.phasesMs.packages = performance.now() - t1;

  // 3. remember how far this render got
  reader.markRendered(summary.seq, PRUNE_CHANGES_AT);
  const next: SiteState = { version: 1, rendering: RENDERING, templates, settings, seq: summary.seq };
  stateFile.write(next);
  w.dispose();
  // worker threads' temporary folders (empty unless a write failed half-way; a terminated thread may leave one)
  for (const e of readdirSync(stateDir)) if (e.startsWith(`tmp-${process.pid}-`)) rmSync(join(stateDir, e), { recursive: true, force: true });
  summary.files = w.files;
  summary.durationMs = performance.now() - started;
  return summary;
}

interface PoolWorker {
  worker: Worker;
  /** an error it raised before it was given work */
  failed?: Error;
}

function startWorker(init: WorkerInit): PoolWorker {
  const p: PoolWorker = { worker: new Worker(workerFile(), { workerData: init }) };
  p.worker.once('error', (err) => {
    p.failed = err;
  });
  return p;
}

/**
 * Hand batches to the pool's workers, one at a time each, until all are done.
 * Two workers are kept out of the same suite/arch folder when possible: a
 * file system serialises creating files in one folder. Returns the files
 * the workers wrote.
 */
async function renderOnWorkers(
  pool: readonly PoolWorker[],
  batches: readonly Task[],
  take: (j: Task, r: BatchResult & { statusPages: number; spliced: number }) => void,
): Promise<number> {
  const queues = new Map<string, number[]>();
  batches.forEach((b, i) => {
    const k = `${b.suite}/${b.arch}`;
    let q = queues.get(k);
    if (!q) queues.set(k, (q = []));
    q.push(i);
  });
  const busy = new Map<string, number>();
  const pick = (): number | undefined => {
    let best: string | undefined;
    for (const [k, q] of queues) {
      if (q.length === 0) continue;
      if (best === undefined || (busy.get(k) ?? 0) < (busy.get(best) ?? 0) || ((busy.get(k) ?? 0) === (busy.get(best) ?? 0) && q.length > (queues.get(best)?.length ?? 0))) best = k;
    }
    if (best === undefined) return undefined;
    busy.set(best, (busy.get(best) ?? 0) + 1);
    return queues.get(best)?.shift();
  };
  let files = 0;
  await Promise.all(pool.map(({ worker, failed }) => new Promise<void>((resolve, reject) => {
    if (failed) {
      reject(failed);
      return;
    }
    const send = (): void => {
      const id = pick();
      const j = id === undefined ? undefined : batches[id];
      if (id === undefined || !j) {
        worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
        resolve();
        return;
      }
      worker.postMessage({ ...j, id } satisfies WorkerRequest);
    };
    worker.on('message', (m: WorkerReply) => {
      const j = batches[m.id];
      if (m.type === 'error') {
        reject(new Error(`site worker failed on a batch of ${j?.suite ?? '?'}/${j?.arch ?? '?'}: ${m.message}`));
        return;
      }
      files += m.files;
      if (j) {
        const k = `${j.suite}/${j.arch}`;
        busy.set(k, (busy.get(k) ?? 1) - 1);
        take(j, m);
      }
      send();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`site worker exited with code ${code}`));
    });
    send();
  })));
  return files;
}

/**
 * reproducible.json: `[`, the non-empty fragments joined by `,`, `]`. At Debian
 * scale that is tens of megabytes of which one fragment changed: the
 * fragments are streamed into it, not read into this process.
 */
function writeJson(w: SiteWriter, fragmentDir: string, config: Config): void {
  const pieces: Piece[] = ['[\n'];
  for (const suite of config.suites) {
    for (const arch of config.architectures) {
      const file = join(fragmentDir, `${suite}_${arch}.json`);
      if (statSync(file).size === 0) continue;
      if (pieces.length > 1) pieces.push(',\n');
      pieces.push({ file });
    }
  }
  pieces.push('\n]\n');
  w.compose('reproducible.json', pieces);
  // what an older reprofarm joined them with
  rmSync(join(fragmentDir, 'glue'), { recursive: true, force: true });
}

/**
 * The worker thread's module: its bundled entry in dist/bundle/ (scripts/bundle.mjs; a few
 * files to load instead of some thirty modules), also when this runs from source.
 */
function workerFile(): URL {
  return pathToFileURL(join(projectRoot(), 'dist', 'bundle', 'package-worker.js'));
}

/** After a full render: delete files in `rel` (one folder) that were not written. */
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

/** Where a full render fills a package folder that does not exist yet (a dot name: neither served nor crawled). */
function stagingDir(final: string): string {
  return join(dirname(final), `.${basename(final)}.staging`);
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

/** Staging folders a render that did not finish left behind (the lock is held: none is in use). */
function removeStaging(w: SiteWriter): void {
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

/** After a full render: drop the pages of suites and architectures no longer configured. */
function removeUnconfigured(w: SiteWriter, config: Config): void {
  const suites = new Set(config.suites);
  const arches = new Set(config.architectures);
  for (const top of ['rb-pkg', 'logs', 'dbd', '.']) {
    let entries: string[];
    try {
      entries = readdirSync(w.path(top));
    } catch {
      continue;
    }
    for (const suite of entries) {
      const dir = w.path(`${top}/${suite}`);
      if (!statSync(dir).isDirectory()) continue;
      if (suites.has(suite)) {
        for (const arch of readdirSync(dir)) if (!arches.has(arch)) rmSync(join(dir, arch), { recursive: true, force: true });
      } else if (top !== '.') {
        // a suite no longer configured; at the site's root only the configured suites' folders are known to be ours
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

