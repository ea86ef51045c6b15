/**
 * Writing the site: files written beside their target and renamed over it
 * (a browser never sees half a page), build logs and diffoscope reports
 * copied in from state_dir.
 */
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlink,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { threadId } from 'node:worker_threads';
import { NODE_NAME_RE } from '../core/config.js';
import { isValidVersion } from '../archive/version.js';
import type { PackageData } from '../db/site.js';
import type { PackageAssets } from './model-package.js';
import { writePieces, type Piece } from './pieces.js';

/** A file written beside its target, not yet renamed over it. */
export interface PendingFile {
  /** bytes written */
  size: number;
  commit(): void;
  discard(): void;
}

/** Files of at least this size are freed by the next render (SiteWriter.keepOld). */
const BIG_FILE = 1 << 20;

function trashDir(root: string): string {
  return join(root, '.reprofarm', 'trash');
}

/**
 * Free what an earlier render replaced, in the background (the thread pool):
 * the returned promise settles when all is gone. Each is one unlink request,
 * handed to the pool now: a chain of promise steps (fs.promises.rm) would wait
 * for the render to give the event loop back, and the render rarely does.
 */
export function emptyTrash(root: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(trashDir(root));
  } catch {
    return Promise.resolve();
  }
  // (a trash entry is a second name of a file: keepOld)
  return Promise.all(names.map((n) => new Promise<void>((done) => unlink(join(trashDir(root), n), () => done())))).then(() => undefined);
}

/** Writes files atomically under the site root, creating folders once. */
export class SiteWriter {
  files = 0;
  /** files this writer removed */
  removed = 0;
  private readonly dirs = new Set<string>();
  /** temporary files are made in a small folder of their own, then renamed into place (same file system) */
  private readonly tmpDir: string;
  private seq = 0;
  private readonly sourceDirs = new Map<string, boolean>();

  private readonly trashDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, '.reprofarm', `tmp-${process.pid}-${threadId}`);
    this.trashDir = trashDir(root);
  }

  private tmp(): string {
    this.ensureDir(this.tmpDir);
    return join(this.tmpDir, `${this.seq++}`);
  }

  /** Remove this writer's temporary folder (empty unless a write failed half-way). */
  dispose(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
  }

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
    this.ensureDir(dirname(target));
    const tmp = this.tmp();
    writeFileSync(tmp, data);
    renameSync(tmp, target);
    this.files++;
  }

  /** Write a small file unless it holds these bytes already (then no new mtime, and it is not counted). */
  writeIfChanged(rel: string, text: string): void {
    let old: string | undefined;
    try {
      old = readFileSync(join(this.root, rel), 'utf8');
    } catch {
      old = undefined;
    }
    if (old !== text) this.write(rel, text);
  }

  /** Write a file into a folder no browser sees yet (see renderPackageBatch): no temporary name. */
  writeStaged(dir: string, name: string, data: string | Buffer): void {
    this.ensureDir(dir);
    writeFileSync(join(dir, name), data);
    this.files++;
  }

  /** Write a file from its pieces, atomically. */
  compose(rel: string, pieces: readonly Piece[]): void {
    this.prepare(rel, pieces).commit();
  }

  /**
   * Write a file from its pieces beside its target; `commit` renames it into
   * place, `discard` removes it. Other files are streamed in through one
   * buffer: nothing here holds a whole file in memory. A `bookkeeping` file
   * (the builder's own, under .reprofarm) is not counted as written.
   */
  prepare(rel: string, pieces: readonly Piece[], opts: { bookkeeping?: boolean } = {}): PendingFile {
    const target = join(this.root, rel);
    this.ensureDir(dirname(target));
    const tmp = this.tmp();
    return this.pending(tmp, target, writePieces(tmp, pieces), opts);
  }

  /** prepare(), the pieces written by `fill` into the temporary file it is given (on another thread: compose-thread.ts). */
  async prepareWith(rel: string, fill: (tmp: string) => Promise<number>, opts: { bookkeeping?: boolean } = {}): Promise<PendingFile> {
    const target = join(this.root, rel);
    this.ensureDir(dirname(target));
    const tmp = this.tmp();
    try {
      return this.pending(tmp, target, await fill(tmp), opts);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  private pending(tmp: string, target: string, size: number, opts: { bookkeeping?: boolean }): PendingFile {
    return {
      size,
      commit: (): void => {
        this.keepOld(target);
        renameSync(tmp, target);
        if (!opts.bookkeeping) this.files++;
      },
      discard: (): void => rmSync(tmp, { force: true }),
    };
  }

  /**
   * A big file about to be replaced keeps a second name in the trash folder:
   * the rename over it does not free its blocks, which on a file system that
   * discards freed blocks takes the longer the bigger the file. The next
   * render frees them while it works (`emptyTrash`).
   */
  private keepOld(target: string): void {
    const old = statSync(target, { throwIfNoEntry: false });
    if (!old || old.size < BIG_FILE) return;
    try {
      this.ensureDir(this.trashDir);
      linkSync(target, join(this.trashDir, `${process.pid}-${threadId}-${this.seq++}`));
    } catch {
      // then the rename frees it
    }
  }

  /**
   * Whether a folder files are copied in from exists, asked once per writer (one
   * writer per render and thread): a node's results folder for a suite/arch it
   * never built costs no stat per package. A folder that appears during the
   * render is seen by the next one, which renders those packages again anyway.
   */
  sourceDirExists(dir: string): boolean {
    let e = this.sourceDirs.get(dir);
    if (e === undefined) {
      e = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
      this.sourceDirs.set(dir, e);
    }
    return e;
  }

  /** Copy a file in (atomically), unless the target already has the same size and is newer. */
  copyIn(src: string, rel: string): boolean {
    const target = join(this.root, rel);
    // no exceptions for missing files: most packages have no logs on this main node
    const s = statSync(src, { throwIfNoEntry: false });
    if (!s?.isFile()) return false;
    const t = statSync(target, { throwIfNoEntry: false });
    if (t && t.size === s.size && t.mtimeMs >= s.mtimeMs) return true;
    this.ensureDir(dirname(target));
    const tmp = this.tmp();
    copyFileSync(src, tmp);
    renameSync(tmp, target);
    this.files++;
    return true;
  }

  /** Rename a finished file (on the same file system) into place. */
  move(src: string, rel: string): void {
    const target = join(this.root, rel);
    this.ensureDir(dirname(target));
    renameSync(src, target);
    this.files++;
  }

  remove(rel: string): boolean {
    try {
      unlinkSync(join(this.root, rel));
      this.removed++;
      return true;
    } catch {
      return false;
    }
  }

  /** Remove a folder left empty (a folder still holding files stays). */
  removeEmptyDir(rel: string): void {
    const dir = join(this.root, rel);
    try {
      rmdirSync(dir);
      this.dirs.delete(dir);
    } catch {
      // not empty, or gone already
    }
  }
}

/** Files of a package's current build that the site publishes: build logs and diffoscope reports. */
export function publishAssets(stateDir: string, w: SiteWriter, d: PackageData): PackageAssets {
  const assets: PackageAssets = { logs: new Map(), reportTxt: null, reportHtml: null };
  const cur = d.current;
  if (!cur || !isValidVersion(cur.version)) return assets;
  const base = `${d.suite}/${d.arch}/${d.source.name}`;
  for (const run of cur.runs) {
    if (!NODE_NAME_RE.test(run.node)) continue;
    if (!w.sourceDirExists(join(stateDir, 'results', run.node, d.suite, d.arch))) continue;
    const src = join(stateDir, 'results', run.node, d.suite, d.arch, d.source.name, cur.version, 'build.log');
    const rel = `logs/${base}/${cur.id}.build${run.build_number}.txt`;
    if (w.copyIn(src, rel)) assets.logs.set(run.build_number, rel);
  }
  if (cur.report) {
    const reports = join(stateDir, 'reports');
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
export function pruneAssets(w: SiteWriter, suite: string, arch: string, pkg: string, keepBuild: number | null): void {
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
