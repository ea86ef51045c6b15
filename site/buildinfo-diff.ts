/**
 * An FTBR package page's diff of its two builds' `.buildinfo` files, read
 * from the main node's results (`state_dir/results/NODE/SUITE/ARCH/PKG/VERSION/`,
 * where fetching put them). Each file is read up to text-diff's bound, never whole.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { isValidVersion } from '../archive/version.js';
import { NODE_NAME_RE } from '../core/config.js';
import type { PackageData } from '../db/site.js';
import { MAX_INPUT, textDiff, type TextDiff } from './text-diff.js';
import type { SiteWriter } from './writer.js';

/** The first `max` bytes of a file (one more says it is longer), or null when it cannot be read. */
function readHead(file: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(max + 1);
    let n = 0;
    for (let r = -1; r !== 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A run's .buildinfo (the first by name, should there be several): its name and text. */
function buildinfoOf(stateDir: string, w: SiteWriter, d: PackageData, node: string, version: string): { name: string; text: string } | null {
  if (!NODE_NAME_RE.test(node) || !w.sourceDirExists(join(stateDir, 'results', node, d.suite, d.arch))) return null;
  const dir = join(stateDir, 'results', node, d.suite, d.arch, d.source.name, version);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.buildinfo') && !n.startsWith('.'));
  } catch {
    return null;
  }
  const name = names.sort()[0];
  if (!name) return null;
  const text = readHead(join(dir, name), MAX_INPUT);
  return text === null ? null : { name, text };
}

/** The diff of an FTBR's two .buildinfo files; null when it is not an FTBR or a file is missing. */
export function buildinfoDiff(stateDir: string, w: SiteWriter, d: PackageData): TextDiff | null {
  const cur = d.current;
  if (!cur || cur.status !== 'FTBR' || d.result?.status !== 'FTBR' || !isValidVersion(cur.version)) return null;
  const r1 = cur.runs.find((r) => r.build_number === 1);
  const r2 = cur.runs.find((r) => r.build_number === 2);
  if (!r1 || !r2) return null;
  const a = buildinfoOf(stateDir, w, d, r1.node, cur.version);
  const b = buildinfoOf(stateDir, w, d, r2.node, cur.version);
  if (!a || !b) return null;
  return textDiff(`build 1 (${r1.node}): ${a.name}`, `build 2 (${r2.node}): ${b.name}`, a.text, b.text);
}
