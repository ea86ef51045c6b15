/**
 * Package pages, one batch at a time: read the batch's data in one snapshot,
 * publish each current build's logs and report, render, write. Used inline
 * for small (incremental) renders and by the worker threads of a full one.
 */
import { isValidSourceName } from '../archive/version.js';
import { attestationsOfPackages } from '../db/attestations.js';
import type { PackageData, SiteReader } from '../db/site.js';
import { publishAttestations, removeAttestations } from './attestations.js';
import { packageFileFindings, type Finding } from './breakages.js';
import { buildinfoDiff } from './buildinfo-diff.js';
import { packageView } from './model-package.js';
import { packageApi, packageApiPath } from './package-api.js';
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
  /** what publishing the pages' files found missing (breakages.ts), of the packages with findings */
  broken: [string, Finding[]][];
}

/**
 * Render a batch of package pages. `stage`: a folder (not yet visible) that a
 * full render fills in place of `rb-pkg/<suite>/<arch>/`, which did not
 * exist: pages are written straight into it, and it is renamed into place
 * when all its batches are done.
 */
export function renderPackageBatch(ctx: BatchContext, suite: string, arch: string, names: readonly string[], stage?: string): BatchResult {
  const out: BatchResult = { pages: 0, deleted: 0, written: [], skipped: [], broken: [] };
  const valid = names.filter((n) => {
    if (isValidSourceName(n)) return true;
    out.skipped.push(n);
    return false;
  });
  const read = ctx.reader.snapshot(() => ({
    data: ctx.reader.packages(suite, arch, valid),
    signed: attestationsOfPackages(ctx.reader.db, suite, arch, valid),
  }));
  const data: (PackageData | undefined)[] = read.data;
  const signed = read.signed;
  const done = new Set<string>();
  for (let i = 0; i < data.length; i++) {
    const d = data[i];
    if (!d) continue;
    // a package's rows are let go once it is rendered, not at the end of the batch: a
    // scavenge during the batch then copies (and promotes) only the packages still to come
    data[i] = undefined;
    const assets = publishAssets(ctx.stateDir, ctx.writer, d);
    assets.buildinfo = buildinfoDiff(ctx.stateDir, ctx.writer, d);
    assets.attestation = publishAttestations(ctx.writer, suite, arch, d.source.name, signed.get(d.source.name), d.current?.version ?? null);
    const found = packageFileFindings(d, assets);
    if (found.length > 0) out.broken.push([d.source.name, found]);
    const html = ctx.renderer.render('package', packageView(d, assets));
    ctx.writer.writeIfChanged(packageApiPath(suite, arch, d.source.name), `${JSON.stringify(packageApi(d, assets.attestation ?? null), null, 1)}\n`);
    if (stage) ctx.writer.writeStaged(stage, `${d.source.name}.html`, html);
    else ctx.writer.write(`rb-pkg/${suite}/${arch}/${d.source.name}.html`, html);
    const id = d.current?.id ?? null;
    if (!ctx.full) pruneAssets(ctx.writer, suite, arch, d.source.name, id);
    out.written.push([d.source.name, id]);
    done.add(d.source.name);
    out.pages++;
  }
  const gone = valid.filter((n) => !done.has(n));
  const goneSet = new Set(gone);
  for (const n of gone) {
    // not (or no longer) a source of the suite: its page and files go
    if (ctx.writer.remove(`rb-pkg/${suite}/${arch}/${n}.html`)) out.deleted++;
    pruneAssets(ctx.writer, suite, arch, n, null);
    ctx.writer.remove(packageApiPath(suite, arch, n));
  }
  if (gone.length > 0) removeAttestations(ctx.writer, suite, arch, (p) => goneSet.has(p));
  return out;
}
