/**
 * Package pages, one batch at a time: read the batch's data in one snapshot,
 * publish each current build's logs and report, render, write. Used inline
 * for small (incremental) renders and by the worker threads of a full one.
 */
import { isValidSourceName } from '../archive/version.js';
import { writeFileAtomicSync } from '../core/atomic.js';
import type { SiteReader } from '../db/site.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupByStatus, jsonFragment, packageView, statusPage } from './model.js';
import type { Renderer } from './render.js';
import { publishAssets, pruneAssets, type SiteWriter } from './writer.js';

export interface BatchContext {
  reader: SiteReader;
  renderer: Renderer;
  writer: SiteWriter;
  stateDir: string;
  asOf: string | null;
  /** full render: stale assets are pruned afterwards, per folder, not per package */
  full: boolean;
}

export interface BatchResult {
  pages: number;
  deleted: number;
  /** every package rendered, with its current build id (null: none) */
  written: [string, number | null][];
  skipped: string[];
}

export function renderPackageBatch(ctx: BatchContext, suite: string, arch: string, names: readonly string[]): BatchResult {
  const out: BatchResult = { pages: 0, deleted: 0, written: [], skipped: [] };
  const valid = names.filter((n) => {
    if (isValidSourceName(n)) return true;
    out.skipped.push(n);
    return false;
  });
  const data = ctx.reader.snapshot(() => ctx.reader.packages(suite, arch, valid));
  const done = new Set<string>();
  for (const d of data) {
    const assets = publishAssets(ctx.stateDir, ctx.writer, d);
    ctx.writer.write(`rb-pkg/${suite}/${arch}/${d.source.name}.html`, ctx.renderer.render('package', packageView(d, assets)));
    const id = d.current?.id ?? null;
    if (!ctx.full) pruneAssets(ctx.writer, suite, arch, d.source.name, id);
    out.written.push([d.source.name, id]);
    done.add(d.source.name);
    out.pages++;
  }
  for (const n of valid) {
    if (done.has(n)) continue;
    // not (or no longer) a source of the suite: its page and files go
    if (ctx.writer.remove(`rb-pkg/${suite}/${arch}/${n}.html`)) out.deleted++;
    pruneAssets(ctx.writer, suite, arch, n, null);
  }
  return out;
}

/**
 * One suite and architecture's status pages (`index_<STATUS>.html`) and its
 * part of reproducible.json (a fragment file in `fragmentDir`). Returns the
 * number of pages.
 */
export function renderStatusUnit(ctx: BatchContext, suite: string, arch: string, fragmentDir: string): number {
  const listing = ctx.reader.snapshot(() => ctx.reader.listing(suite, arch));
  // a page whose rows did not change since the last render is not rendered again (a full render renders all)
  const hashFile = join(fragmentDir, `${suite}_${arch}.status-hashes.json`);
  let old: Record<string, string> = {};
  if (!ctx.full) {
    try {
      old = JSON.parse(readFileSync(hashFile, 'utf8')) as Record<string, string>;
    } catch {
      old = {};
    }
  }
  const hashes: Record<string, string> = {};
  let n = 0;
  const by = groupByStatus(listing);
  const statuses = [...by.keys()];
  for (const [status, rows] of by) {
    const h = createHash('sha256');
    for (const r of rows) h.update(`${r.package}\0${r.version}\0${r.build_date ?? ''}\n`);
    const digest = h.digest('hex');
    hashes[status] = digest;
    if (old[status] === digest && existsSync(ctx.writer.path(`${suite}/${arch}/index_${status}.html`))) continue;
    ctx.writer.write(`${suite}/${arch}/index_${status}.html`, ctx.renderer.render('status', statusPage(suite, arch, status, rows, statuses)));
    n++;
  }
  writeFileAtomicSync(hashFile, JSON.stringify(hashes));
  const fragment = join(fragmentDir, `${suite}_${arch}.json`);
  writeFileAtomicSync(fragment, jsonFragment(suite, arch, listing.filter((r) => r.status !== 'untested')));
  return n;
}
