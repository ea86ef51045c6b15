/**
 * The site builder: reads reproducible.db (one snapshot) into view models,
 * renders them and writes `site_dir`. Incremental by default: package pages
 * are rendered for the packages the DB's change log names since the last
 * run, plus the status pages and JSON of the suites and architectures they
 * belong to, plus every small page (dashboard, nodes, variations, schedule).
 * Every file is written beside its target and renamed over it, so a browser
 * never sees half a page. Bookkeeping lives in `<site_dir>/.reprofarm/`.
 */
import { createHash } from 'node:crypto';
import {
  closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Config } from '../core/config.js';
import { NODE_NAME_RE } from '../core/config.js';
import { ReprofarmError } from '../core/errors.js';
import { nodeInformationFile } from '../core/paths.js';
import { isValidSourceName, isValidVersion } from '../archive/version.js';
import type { FarmDb } from '../db/index.js';
import { SiteReader, type PackageData } from '../db/site.js';
import {
  indexView, jsonFragment, nodesView, packageView, scheduledView, statusPages, variationsView, CHART_DAYS, type PackageAssets,
} from './model.js';
import { Renderer, templatesDir, templatesHash } from './render.js';

export type SiteEvent =
  | { type: 'mode'; mode: 'full' | 'incremental'; why: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'skipped'; what: string; why: string };

export interface SiteOptions {
  full?: boolean;
  onEvent?: (e: SiteEvent) => void;
  /** package names per DB query and render batch */
  batch?: number;
}

export interface SiteSummary {
  mode: 'full' | 'incremental';
  why: string;
  packagePages: number;
  deletedPages: number;
  statusPages: number;
  otherPages: number;
  files: number;
  seq: number;
  durationMs: number;
}

interface SiteState {
  version: 1;
  templates: string;
  settings: string;
  seq: number;
}

const STATE_DIR = '.reprofarm';

export class SiteLockedError extends ReprofarmError {}

/** Writes files atomically under the site root, creating folders once. */
class SiteWriter {
  files = 0;
  private readonly dirs = new Set<string>();
  private readonly tmpSuffix = `.tmp-${process.pid}`;

  constructor(readonly root: string) {}

  path(rel: string): string {
    return join(this.root, rel);
  }

  ensureDir(dir: string): void {
    if (this.dirs.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.dirs.add(dir);
  }

  write(rel: string, data: string | Buffer): void {
    const target = join(this.root, rel);
    const dir = dirname(target);
    this.ensureDir(dir);
    const tmp = join(dir, `.${target.slice(dir.length + 1)}${this.tmpSuffix}`);
    writeFileSync(tmp, data);
    renameSync(tmp, target);
    this.files++;
  }

  /** Copy a file in (atomically), unless the target already has the same size and is newer. */
  copyIn(src: string, rel: string): boolean {
    const target = join(this.root, rel);
    let s;
    try {
      s = statSync(src);
    } catch {
      return false;
    }
    try {
      const t = statSync(target);
      if (t.size === s.size && t.mtimeMs >= s.mtimeMs) return true;
    } catch {
      // not there yet
    }
    const dir = dirname(target);
    this.ensureDir(dir);
    const tmp = join(dir, `.${target.slice(dir.length + 1)}${this.tmpSuffix}`);
    copyFileSync(src, tmp);
    renameSync(tmp, target);
    this.files++;
    return true;
  }

  remove(rel: string): boolean {
    try {
      unlinkSync(join(this.root, rel));
      return true;
    } catch {
      return false;
    }
  }
}

function settingsHash(config: Config): string {
  return createHash('sha256').update(JSON.stringify({
    suites: config.suites, arches: config.architectures, stateDir: config.stateDir,
    nodes: [...config.nodes.values()].map((n) => [n.name, n.transport, n.host, n.port, n.user, n.arch ?? null, n.offline]),
    jobs: [...config.jobs.values()].map((j) => [j.name, j.nodes]),
    site: config.site, interval: config.collect.interval, chartDays: CHART_DAYS,
  })).digest('hex');
}

function readState(file: string): SiteState | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<SiteState>;
    if (v.version === 1 && typeof v.seq === 'number' && typeof v.templates === 'string' && typeof v.settings === 'string') return v as SiteState;
  } catch {
    // missing or unreadable: render everything
  }
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** Files of a package's current build that the site publishes: build logs and diffoscope reports. */
function publishAssets(config: Config, w: SiteWriter, d: PackageData): PackageAssets {
  const assets: PackageAssets = { logs: new Map(), reportTxt: null, reportHtml: null };
  const cur = d.current;
  if (!cur || !isValidVersion(cur.version)) return assets;
  const base = `${d.suite}/${d.arch}/${d.source.name}`;
  for (const run of cur.runs) {
    if (!NODE_NAME_RE.test(run.node)) continue;
    const src = join(config.stateDir, 'results', run.node, d.suite, d.arch, d.source.name, cur.version, 'build.log');
    const rel = `logs/${base}/${cur.id}.build${run.build_number}.txt`;
    if (w.copyIn(src, rel)) assets.logs.set(run.build_number, rel);
  }
  if (cur.report) {
    const reports = join(config.stateDir, 'reports');
    const txt = cur.report;
    // only a report inside state_dir/reports is published
    if (!relative(reports, txt).startsWith('..') && txt.endsWith('.diffoscope.txt')) {
      const rel = `dbd/${base}/${cur.id}.diffoscope`;
      if (w.copyIn(txt, `${rel}.txt`)) assets.reportTxt = `${rel}.txt`;
      if (w.copyIn(txt.replace(/\.txt$/, '.html'), `${rel}.html`)) assets.reportHtml = `${rel}.html`;
    }
  }
  return assets;
}

/** Remove a package's published logs and reports that are not its current build's. */
function pruneAssets(w: SiteWriter, suite: string, arch: string, pkg: string, keepBuild: number | null): void {
  for (const top of ['logs', 'dbd']) {
    const dir = w.path(`${top}/${suite}/${arch}/${pkg}`);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) if (keepBuild === null || !e.startsWith(`${keepBuild}.`)) rmSync(join(dir, e), { force: true });
    if (keepBuild === null) rmSync(dir, { recursive: true, force: true });
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

export function buildSite(config: Config, db: FarmDb, opts: SiteOptions = {}): SiteSummary {
  const started = performance.now();
  const siteDir = config.siteDir;
  const stateDir = join(siteDir, STATE_DIR);
  const unlock = lock(stateDir);
  try {
    return render(config, db, opts, siteDir, stateDir, started);
  } finally {
    unlock();
  }
}

function render(config: Config, db: FarmDb, opts: SiteOptions, siteDir: string, stateDir: string, started: number): SiteSummary {
  const emit = opts.onEvent ?? ((): void => undefined);
  const batch = opts.batch ?? 500;
  const reader = new SiteReader(db);
  const renderer = new Renderer();
  const w = new SiteWriter(siteDir);
  const stateFile = join(stateDir, 'state.json');
  const state = readState(stateFile);
  const templates = templatesHash();
  const settings = settingsHash(config);
  const summary: SiteSummary = { mode: 'full', why: '', packagePages: 0, deletedPages: 0, statusPages: 0, otherPages: 0, files: 0, seq: 0, durationMs: 0 };

  reader.snapshot(() => {
    const seq = reader.changeSeq();
    summary.seq = seq;
    let why = '';
    if (opts.full) why = '--full';
    else if (!state) why = 'no previous render in this site_dir';
    else if (state.templates !== templates) why = 'the templates changed';
    else if (state.settings !== settings) why = 'the configuration changed';
    else if (state.seq < reader.prunedThrough() || state.seq > seq) why = 'the DB\'s change log does not continue from the last render';
    const full = why !== '';
    summary.mode = full ? 'full' : 'incremental';
    summary.why = full ? why : `changes ${state?.seq ?? 0}..${seq}`;
    emit({ type: 'mode', mode: summary.mode, why: summary.why });
    const asOf = reader.asOf();

    // which packages' pages to render, per suite and architecture
    const todo = new Map<string, { suite: string; arch: string; names: string[] }>();
    const key = (s: string, a: string): string => `${s}\0${a}`;
    const suites = new Set(config.suites);
    const arches = new Set(config.architectures);
    const currentBySuite = new Map<string, Set<string>>();
    const current = (suite: string): Set<string> => {
      let s = currentBySuite.get(suite);
      if (!s) currentBySuite.set(suite, (s = new Set(reader.sourceNames(suite))));
      return s;
    };
    if (full) {
      for (const suite of config.suites) {
        const names = [...current(suite)];
        for (const arch of config.architectures) todo.set(key(suite, arch), { suite, arch, names });
      }
    } else {
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

    const total = [...todo.values()].reduce((n, t) => n + t.names.length, 0);
    let done = 0;
    for (const t of todo.values()) {
      const cur = current(t.suite);
      const written = new Set<string>();
      const builds = new Map<string, number | null>();
      for (let i = 0; i < t.names.length; i += batch) {
        const names = t.names.slice(i, i + batch).filter((n) => {
          if (isValidSourceName(n)) return true;
          emit({ type: 'skipped', what: `package ${JSON.stringify(n)} in ${t.suite}`, why: 'not a valid source package name' });
          return false;
        });
        for (const d of reader.packages(t.suite, t.arch, names)) {
          const assets = publishAssets(config, w, d);
          const html = renderer.render('package', packageView(d, assets, asOf));
          w.write(`rb-pkg/${t.suite}/${t.arch}/${d.source.name}.html`, html);
          written.add(d.source.name);
          builds.set(d.source.name, d.current?.id ?? null);
          if (!full) pruneAssets(w, t.suite, t.arch, d.source.name, d.current?.id ?? null);
          summary.packagePages++;
        }
        for (const n of names) {
          if (!written.has(n) && !cur.has(n)) {
            // no longer in the suite: its page goes
            if (w.remove(`rb-pkg/${t.suite}/${t.arch}/${n}.html`)) summary.deletedPages++;
            pruneAssets(w, t.suite, t.arch, n, null);
          }
        }
        done += t.names.slice(i, i + batch).length;
        emit({ type: 'progress', done, total });
      }
      if (full) {
        summary.deletedPages += removeStale(w, `rb-pkg/${t.suite}/${t.arch}`, written, '.html');
        for (const top of ['logs', 'dbd']) {
          let pkgs: string[];
          try {
            pkgs = readdirSync(w.path(`${top}/${t.suite}/${t.arch}`));
          } catch {
            continue;
          }
          for (const p of pkgs) pruneAssets(w, t.suite, t.arch, p, builds.get(p) ?? null);
        }
      }
    }

    // status pages and the JSON of every suite/arch whose packages changed (all of them on a full render)
    mkdirSync(join(stateDir, 'json'), { recursive: true });
    for (const suite of config.suites) {
      for (const arch of config.architectures) {
        const fragment = join(stateDir, 'json', `${suite}_${arch}.json`);
        if (!full && !todo.has(key(suite, arch)) && existsSync(fragment)) continue;
        const listing = reader.listing(suite, arch);
        for (const p of statusPages(suite, arch, listing, asOf)) {
          w.write(`${suite}/${arch}/index_${p.status}.html`, renderer.render('status', p));
          summary.statusPages++;
        }
        const rows = listing.filter((r) => r.status !== 'untested');
        const tmp = `${fragment}.tmp-${process.pid}`;
        writeFileSync(tmp, jsonFragment(suite, arch, rows));
        renameSync(tmp, fragment);
      }
    }
    // reproducible.json from the fragments, in config order
    const parts: string[] = [];
    for (const suite of config.suites) {
      for (const arch of config.architectures) {
        const f = readFileSync(join(stateDir, 'json', `${suite}_${arch}.json`), 'utf8');
        if (f.length > 0) parts.push(f);
      }
    }
    w.write('reproducible.json', `[\n${parts.join(',\n')}\n]\n`);
    summary.otherPages++;

    // the small pages, every time: they show the schedule, node health and counts
    const inputs = [];
    for (const suite of config.suites) {
      const known = reader.currentSources(suite);
      for (const arch of config.architectures) {
        const schedule = reader.schedule(suite, arch);
        w.write(`${suite}/${arch}/index_scheduled.html`, renderer.render('scheduled', scheduledView(suite, arch, schedule, current(suite), asOf)));
        summary.otherPages++;
        const from = new Date(Date.parse(`${(asOf ?? '1970-01-01').slice(0, 10)}T00:00:00Z`) - (CHART_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
        inputs.push({ suite, arch, known, counts: reader.statusCounts(suite, arch), schedule, daily: reader.daily(suite, arch, from) });
      }
    }
    w.write('index.html', renderer.render('index', indexView(inputs, asOf)));
    const configured = [...config.nodes.values()].map((n) => {
      const info = w.copyIn(nodeInformationFile(config.stateDir, n.name), `node-information/${n.name}.txt`) ? `node-information/${n.name}.txt` : null;
      return { name: n.name, transport: n.transport === 'local' ? 'local' : `ssh ${n.user}@${n.host}:${n.port}`, arch: n.arch ?? null, offline: n.offline, info };
    });
    w.write('nodes.html', renderer.render('nodes', nodesView(configured, reader.nodes(), asOf ? reader.nodeBuildStats(asOf) : [], asOf, config.collect.interval)));
    const offsets = new Map(reader.nodes().map((n) => [n.name, n.clock_offset_s]));
    const facts = (node: string): { at: string; facts: Map<string, string>; offset: number | null } | undefined => {
      const f = reader.latestFacts(node);
      return f ? { ...f, offset: offsets.get(node) ?? null } : undefined;
    };
    const jobs = [...config.jobs.values()].map((j) => ({
      name: j.name, node1: j.nodes[0], node2: j.nodes[1], facts1: facts(j.nodes[0]), facts2: facts(j.nodes[1]), runs: reader.recentRuns(j.name, config.site.recentBuilds),
    }));
    w.write('variations.html', renderer.render('variations', variationsView(jobs, config.site.varyFacts, config.site.recentBuilds, asOf, config.collect.interval)));
    summary.otherPages += 3;
    summary.otherPages += copyStatic(w);
    if (full) removeUnconfigured(w, config);
  });

  reader.markRendered(summary.seq);
  const next: SiteState = { version: 1, templates, settings, seq: summary.seq };
  const tmp = `${stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(next)}\n`);
  renameSync(tmp, stateFile);
  summary.files = w.files;
  summary.durationMs = performance.now() - started;
  return summary;
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
      if (top === '.' && !config.suites.includes(suite)) continue; // only suite folders at the root are ours
      if (!statSync(dir).isDirectory()) continue;
      if (!suites.has(suite)) {
        if (top !== '.') rmSync(dir, { recursive: true, force: true });
        continue;
      }
      for (const arch of readdirSync(dir)) if (!arches.has(arch)) rmSync(join(dir, arch), { recursive: true, force: true });
    }
  }
}

