/**
 * The other half of `reprofarm cleanup`: what piles up on the main node.
 * Result directories (`<state_dir>/results/NODE/SUITE/ARCH/PKG/VERSION/`)
 * older than `cleanup.results_retention_days` go, except those of each
 * package's current result and of packages being built right now; so do the
 * node-information files of nodes that are no longer configured.
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { currentResultDirs } from '../db/builds.js';
import type { FarmDb } from '../db/index.js';
import { claimedEntries } from '../db/queue.js';

export interface PruneResult {
  /** removed result directories, relative to state_dir */
  results: string[];
  /** result directories kept although old: a current result */
  keptCurrent: number;
  /** removed node-information files (node names) */
  nodeInformation: string[];
}

async function dirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

export async function pruneMainNode(config: Config, db: FarmDb, now = Date.now()): Promise<PruneResult> {
  const out: PruneResult = { results: [], keptCurrent: 0, nodeInformation: [] };
  const keep = new Set(currentResultDirs(db).map((r) => join(r.node, r.suite, r.arch, r.package, r.version)));
  // a package being built may be replacing its directory right now: leave the whole package alone
  const building = new Set(claimedEntries(db).map((c) => join(c.suite, c.arch, c.package)));
  const cutoff = now - config.cleanup.resultsRetentionDays * 86400_000;
  const root = join(config.stateDir, 'results');
  for (const node of await dirs(root)) {
    for (const suite of await dirs(join(root, node))) {
      for (const arch of await dirs(join(root, node, suite))) {
        for (const pkg of await dirs(join(root, node, suite, arch))) {
          if (building.has(join(suite, arch, pkg))) continue;
          const pkgDir = join(root, node, suite, arch, pkg);
          for (const version of await dirs(pkgDir)) {
            const rel = join(node, suite, arch, pkg, version);
            const st = await stat(join(pkgDir, version)).catch(() => undefined);
            if (!st || st.mtimeMs >= cutoff) continue;
            if (keep.has(rel)) {
              out.keptCurrent++;
              continue;
            }
            await rm(join(pkgDir, version), { recursive: true, force: true });
            out.results.push(join('results', rel));
          }
          // empty parents go too (rmdir fails on a non-empty one, which is fine)
          for (const d of [pkgDir, join(root, node, suite, arch), join(root, node, suite), join(root, node)]) {
            if (
              !(await rmdir(d).then(
                () => true,
                () => false,
              ))
            )
              break;
          }
        }
      }
    }
  }
  const info = join(config.stateDir, 'node-information');
  const entries = await readdir(info, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    // dot files are atomic writes in progress
    if (!e.isFile() || e.name.startsWith('.') || config.nodes.has(e.name)) continue;
    await rm(join(info, e.name), { force: true });
    out.nodeInformation.push(e.name);
  }
  return out;
}
