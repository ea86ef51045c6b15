/** Which suites a pair of nodes can build: with the chroot backend, those both nodes have a chroot for. */
import type { Config } from '../core/config.js';
import { suitesWithChroots } from '../db/chroots.js';
import type { FarmDb } from '../db/index.js';

/**
 * The suites `node1` and `node2` can build for `arch`, to pass to claimNext:
 * undefined (no restriction) with the plain backend; with the chroot backend
 * the configured suites both nodes have a tarball of (the `chroots` table,
 * kept by `chroot update` and `collect`), possibly none.
 */
export function chrootSuites(db: FarmDb, config: Config, node1: string, node2: string, arch: string): readonly string[] | undefined {
  if (config.build.backend !== 'chroot') return undefined;
  return suitesWithChroots(db, [node1, node2], arch, config.suites);
}
