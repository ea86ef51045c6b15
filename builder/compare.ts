/**
 * Comparing two builds' results: the binary artifacts named in each .changes,
 * by SHA256; the .buildinfo files' Installed-Build-Depends; and, when the
 * artifacts differ, a diffoscope report (text and HTML) under a timeout and a
 * size limit. Parsing is pure; running diffoscope is the edge.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { field, parseDeb822Text } from '../archive/deb822.js';

export interface Artifact {
  name: string;
  sha256: string;
  size: number;
}

export const ARTIFACT_RE = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*\.(deb|udeb|ddeb)$/;

/** The .deb/.udeb/.ddeb files a .changes names, with their SHA256. */
export function changesArtifacts(changesText: string): Artifact[] {
  const [st] = parseDeb822Text(changesText);
  if (!st) return [];
  const out: Artifact[] = [];
  for (const line of (field(st, 'Checksums-Sha256') ?? '').split('\n')) {
    const [sha256, size, name] = line.trim().split(/\s+/);
    if (name && sha256 && size && ARTIFACT_RE.test(name) && /^[0-9a-f]{64}$/.test(sha256)) out.push({ name, sha256, size: Number(size) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A file name a .changes may list: a plain name in its own directory. */
const LISTED_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

/**
 * The names a .changes lists (Files, Checksums-Sha1, Checksums-Sha256) that are
 * not plain file names. diffoscope opens what a .changes lists beside it: a
 * node's .changes naming "../../x" must not make it read the main node's files.
 */
export function unsafeChangesNames(changesText: string): string[] {
  const [st] = parseDeb822Text(changesText);
  if (!st) return [];
  const bad = new Set<string>();
  for (const f of ['Files', 'Checksums-Sha1', 'Checksums-Sha256']) {
    for (const line of (field(st, f) ?? '').split('\n')) {
      const name = line.trim().split(/\s+/).at(-1);
      if (name && !LISTED_NAME_RE.test(name)) bad.add(name);
    }
  }
  return [...bad];
}

/** Installed-Build-Depends of a .buildinfo, as a sorted list. */
export function installedBuildDepends(buildinfoText: string): string[] {
  const [st] = parseDeb822Text(buildinfoText);
  return (field(st ?? { fields: new Map(), line: 0 }, 'Installed-Build-Depends') ?? '')
    .split(/,\s*/)
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
}

export interface ArtifactComparison {
  equal: boolean;
  onlyIn1: string[];
  onlyIn2: string[];
  differing: string[];
}

export function compareArtifacts(a: readonly Artifact[], b: readonly Artifact[]): ArtifactComparison {
  const m1 = new Map(a.map((x) => [x.name, x.sha256]));
  const m2 = new Map(b.map((x) => [x.name, x.sha256]));
  const onlyIn1 = [...m1.keys()].filter((n) => !m2.has(n));
  const onlyIn2 = [...m2.keys()].filter((n) => !m1.has(n));
  const differing = [...m1.keys()].filter((n) => m2.has(n) && m2.get(n) !== m1.get(n));
  return { equal: a.length > 0 && onlyIn1.length === 0 && onlyIn2.length === 0 && differing.length === 0, onlyIn1, onlyIn2, differing };
}

export function describeDifference(c: ArtifactComparison): string {
  const parts: string[] = [];
  if (c.differing.length) parts.push(`${c.differing.join(', ')} differ`);
  if (c.onlyIn1.length) parts.push(`only build 1 made ${c.onlyIn1.join(', ')}`);
  if (c.onlyIn2.length) parts.push(`only build 2 made ${c.onlyIn2.join(', ')}`);
  return parts.join('; ') || 'no artifacts';
}

/** The SHA-256 of a file, read as a stream (results may be larger than a Buffer can hold). */
export async function fileSha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export interface ResultDir {
  changes: string | null;
  /** the artifacts the .changes names, with the SHA256 of the files themselves */
  artifacts: Artifact[];
  buildDepends: string[] | null;
  unsafeNames: string[];
  /** artifacts the .changes names that are missing or differ from what it lists: the build's results cannot be trusted */
  problems: string[];
}

/**
 * What a result directory holds: its .changes artifacts and the .buildinfo's
 * build dependencies. The artifacts' SHA256 are the files' own (`fetched`, as
 * hashed while fetching, else hashed here), never only what the .changes says:
 * a file changed after its .changes was written must not pass for reproducible.
 */
export async function readResultDir(dir: string, fetched?: ReadonlyMap<string, string>): Promise<ResultDir> {
  const names = await readdir(dir);
  const changes = names.find((n) => n.endsWith('.changes')) ?? null;
  const buildinfo = names.find((n) => n.endsWith('.buildinfo'));
  const changesText = changes ? await readFile(join(dir, changes), 'utf8') : '';
  const problems: string[] = [];
  const artifacts: Artifact[] = [];
  for (const listed of changes ? changesArtifacts(changesText) : []) {
    const actual = fetched ? fetched.get(listed.name) : names.includes(listed.name) ? (await fileSha256(join(dir, listed.name))).sha256 : undefined;
    if (actual === undefined) problems.push(`${listed.name}, named in ${changes}, is not in the results`);
    else if (actual !== listed.sha256) problems.push(`${listed.name} does not match ${changes} (it lists SHA256 ${listed.sha256}, the file has ${actual})`);
    else artifacts.push(listed);
  }
  const buildDepends = buildinfo ? installedBuildDepends(await readFile(join(dir, buildinfo), 'utf8')) : null;
  return { changes, artifacts, buildDepends, unsafeNames: changes ? unsafeChangesNames(changesText) : [], problems };
}

export interface DiffoscopeResult {
  ok: boolean;
  /** why there is no full report */
  problem: string | null;
  text: string | null;
  html: string | null;
}

/**
 * diffoscope on two files, writing text and HTML reports, killed at the
 * timeout; a report larger than maxBytes is cut (diffoscope's own
 * --max-report-size) and said so.
 */
export async function runDiffoscope(
  file1: string,
  file2: string,
  out: { text: string; html: string },
  opts: { timeoutS: number; maxBytes: number },
): Promise<DiffoscopeResult> {
  const args = [
    '--text',
    out.text,
    '--html',
    out.html,
    '--max-report-size',
    String(opts.maxBytes),
    '--max-text-report-size',
    String(opts.maxBytes),
    '--no-progress',
    file1,
    file2,
  ];
  const r = await new Promise<{ code: number | null; stderr: string; timedOut: boolean; missing: boolean }>((resolve) => {
    const child = spawn('diffoscope', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutS * 1000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stderr: err.message, timedOut: false, missing: err.code === 'ENOENT' });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut, missing: false });
    });
  });
  const exists = async (p: string): Promise<boolean> =>
    stat(p).then(
      () => true,
      () => false,
    );
  if (r.missing) return { ok: false, problem: 'diffoscope is not installed (apt-get install diffoscope-minimal)', text: null, html: null };
  if (r.timedOut) {
    await writeFile(out.text, `diffoscope did not finish within ${opts.timeoutS} s\n`);
    return { ok: false, problem: `diffoscope timed out after ${opts.timeoutS} s`, text: out.text, html: null };
  }
  // diffoscope exits 1 when the files differ, 0 when they are equal, anything else on failure
  if (r.code !== 0 && r.code !== 1) {
    const why = r.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return {
      ok: false,
      problem: `diffoscope failed (exit ${r.code}): ${why.slice(0, 300)}`,
      text: (await exists(out.text)) ? out.text : null,
      html: (await exists(out.html)) ? out.html : null,
    };
  }
  return { ok: true, problem: null, text: out.text, html: (await exists(out.html)) ? out.html : null };
}
