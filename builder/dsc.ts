/** The .dsc a build starts from: fetched from the mirror, checked against the Sources index's SHA256, its URL as nodes reach it. */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { Config } from '../core/config.js';
import { openMirror } from '../archive/mirror.js';
import type { DscRef } from './build-types.js';
import { dscUrl } from './work-order.js';

export type DscCheck =
  | { ok: true; dsc: DscRef }
  /** gone: the version left the index; unreachable: the mirror did not answer; missing (E404) and mismatch are the package's */
  | { ok: false; kind: 'gone' | 'unreachable' | 'missing' | 'mismatch'; reason: string };

/** Only the .dsc, checked against the Sources index: its SHA256 goes into the work orders, the nodes fetch the rest. */
export async function checkedDsc(
  config: Config,
  c: { package: string; version: string; suite: string; dsc_path: string | null; dsc_sha256: string | null },
): Promise<DscCheck> {
  if (!c.dsc_path || !c.dsc_sha256) return { ok: false, kind: 'gone', reason: `${c.package} ${c.version} is no longer in ${c.suite}; run reprofarm sync` };
  let bytes: Buffer | null;
  try {
    bytes = await openMirror(config.mirror).fetch(c.dsc_path, 16 * 1024 * 1024);
  } catch (err) {
    return { ok: false, kind: 'unreachable', reason: `cannot fetch the .dsc: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!bytes) return { ok: false, kind: 'missing', reason: `${c.dsc_path} is not on the mirror` };
  const name = c.dsc_path.slice(c.dsc_path.lastIndexOf('/') + 1);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== c.dsc_sha256) return { ok: false, kind: 'mismatch', reason: `${name} on the mirror has SHA256 ${sha}, the Sources index said ${c.dsc_sha256}` };
  return { ok: true, dsc: { url: dscUrl(config.build.nodeMirror, dirname(c.dsc_path), name), sha256: sha } };
}
