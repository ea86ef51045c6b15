/**
 * Sync benchmark: `reprofarm sync` of a real Debian bookworm Sources index
 * (about 35,000 source packages) for 4 architectures, from a signed mirror on
 * disk (plain path, InRelease clearsigned with a throwaway key, so the gpgv
 * check is part of every run).
 *
 *   first sync         empty state dir (fresh for every run)
 *   re-sync            nothing changed: the signed Release vouches for the same
 *                      Sources.xz checksum, so sync does not parse it again
 *   full re-parse      nothing changed, but `DELETE FROM sync_state` first, so
 *                      the index is read, parsed and compared with the DB again
 *   small change       50 source packages get a new version (+b1), re-signed;
 *                      the runs alternate between the changed and the original
 *                      index, so every run sees 50 new versions
 *   1 GiB endless line a hostile mirror's Sources.xz, correctly signed, that
 *                      decompresses to one line of 1 GiB (xz streams of 16 MiB
 *                      of one letter, concatenated: 160 KB); sync must refuse it
 *                      (sync.max_line_bytes) and record nothing
 *
 * Measured per run with GNU time: wall time and max RSS of
 * `node bin/reprofarm.js --config CFG --json sync`, plus the CPU of its
 * process tree (the shell's `times`, as in bench/lib.ts: includes gpgv and xz).
 *
 * The input: `--sources FILE` (when this file is run directly:
 * `npx tsx bench/sync.ts --sources FILE`), else $REPROFARM_BENCH_SOURCES,
 * else a cached copy of bookworm's main/source/Sources under
 * ${XDG_CACHE_HOME:-~/.cache}/reprofarm-bench/, downloaded with apt-get
 * (own sources.list and lists dir in a temp dir; the system's apt
 * configuration, lists and cache are not touched) when it is not there yet.
 *
 * Correctness is checked after every run (a failed check throws); a missed
 * performance goal only prints MISS.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestMirror, releaseText, runTool, type TestMirror } from '../test/harness/mirror.js';
import { buildDist, CheckFailed, fmt, machineInfo, type Measured, median, optionValue, ROOT, runIfMain, runMeasured, shArgs, table } from './lib.js';

const SUITE = 'bookworm';
const ARCHES = ['amd64', 'arm64', 'armhf', 'i386'] as const;
const ROUNDS = 3;
/** how many source packages the "small change" index bumps */
const BUMPED = 50;
/** at most this many stanzas of a real index may be refused by reprofarm (each is printed) */
const MAX_SKIPPED = 20;
const CLI = path.join(ROOT, 'bin', 'reprofarm.js');
const GNU_TIME = '/usr/bin/time';
const GPG_BATCH = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];

const GOALS = {
  firstSyncWallS: 5,
  firstSyncRssMb: 300,
  resyncWallS: 2,
  bombWallS: 5,
  bombRssMb: 300,
};
/** what the endless line of the bomb scenario decompresses to */
const BOMB_BYTES = 1024 ** 3;

function tail(text: string, lines = 20): string {
  const t = text.trim();
  if (!t) return '(empty)';
  return t.split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------
// The input: a real Sources index
// ---------------------------------------------------------------------------

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'reprofarm-bench');
}

const DOWNLOAD_ADVICE =
  "allow network access to http://deb.debian.org/debian (apt-get must be able to fetch bookworm's deb-src index), " +
  'or pass a Sources file: REPROFARM_BENCH_SOURCES=/path/to/Sources npm run bench -- sync ' +
  '(or npx tsx bench/sync.ts --sources /path/to/Sources)';

/**
 * bookworm's main/source/Sources via apt-get with its own sources.list, lists
 * dir and cache dir (the system's are not touched), decompressed with
 * apt-helper cat-file into `dest`.
 */
async function downloadSources(dest: string): Promise<void> {
  for (const tool of ['/usr/bin/apt-get', '/usr/lib/apt/apt-helper']) {
    if (!existsSync(tool))
      throw new CheckFailed(`cannot download the Sources index: ${tool} is missing (this benchmark expects Debian's apt); ${DOWNLOAD_ADVICE}`);
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprofarm-bench-apt-'));
  try {
    // apt downloads as the _apt user when it can: let it reach the lists dir
    await fs.chmod(tmp, 0o755);
    const lists = path.join(tmp, 'lists');
    await fs.mkdir(path.join(lists, 'partial'), { recursive: true });
    await fs.mkdir(path.join(tmp, 'cache', 'archives', 'partial'), { recursive: true });
    const sourcesList = path.join(tmp, 'sources.list');
    await fs.writeFile(sourcesList, `deb-src http://deb.debian.org/debian ${SUITE} main\n`);
    const args = [
      '-o',
      `Dir::Etc::SourceList=${sourcesList}`,
      '-o',
      'Dir::Etc::SourceParts=/nonexistent',
      '-o',
      `Dir::State::Lists=${lists}`,
      '-o',
      `Dir::Cache=${path.join(tmp, 'cache')}`,
      '-o',
      'Dir::Cache::pkgcache=',
      '-o',
      'Dir::Cache::srcpkgcache=',
      '-o',
      'Debug::NoLocking=1',
      'update',
    ];
    console.log(`fetch   apt-get ${shArgs(args)}`);
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/apt-get', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const names = existsSync(lists) ? await fs.readdir(lists) : [];
    const list = names.find((n) => new RegExp(`_dists_${SUITE}_main_source_Sources(\\.[a-z0-9]+)?$`).test(n));
    if (r.error || r.status !== 0 || !list || /^(E:|Err:)/m.test(out)) {
      throw new CheckFailed(
        `cannot download ${SUITE}'s Sources index with apt-get (exit ${r.status ?? r.signal ?? r.error?.message}):\n${tail(out, 10)}\n` +
          `what to do: ${DOWNLOAD_ADVICE}`,
      );
    }
    const part = `${dest}.tmp-${process.pid}`;
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const fh = await fs.open(part, 'w');
    try {
      const c = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', path.join(lists, list)], { stdio: ['ignore', fh.fd, 'pipe'], encoding: 'utf8' });
      if (c.error || c.status !== 0) throw new CheckFailed(`apt-helper cat-file ${list} failed: ${c.error?.message ?? c.stderr}`);
    } finally {
      await fh.close();
    }
    const n = await countPackages(part);
    if (n < 1000) {
      await fs.rm(part, { force: true });
      throw new CheckFailed(`${list} decompressed to a file with only ${n} Package: lines; ${DOWNLOAD_ADVICE}`);
    }
    await fs.rename(part, dest);
    console.log(`fetch   ${list}: ${n} stanzas, downloaded in ${fmt((performance.now() - t0) / 1000, 1)} s, cached as ${dest}`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function countPackages(file: string): Promise<number> {
  let n = 0;
  let carry = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = carry + (chunk as string);
    const re = /^Package:/gm;
    while (re.exec(text)) n++;
    const nl = text.lastIndexOf('\n');
    carry = text.slice(nl + 1);
    if (/^Package:/.test(carry)) n--; // counted again with the next chunk
  }
  return n;
}

export async function obtainSources(explicit: string | undefined): Promise<{ file: string; origin: string }> {
  const given = explicit ?? (process.env.REPROFARM_BENCH_SOURCES || undefined);
  if (given) {
    const file = path.resolve(given);
    if (!existsSync(file)) throw new CheckFailed(`the Sources file ${file} (from ${explicit ? '--sources' : 'REPROFARM_BENCH_SOURCES'}) does not exist`);
    return { file, origin: explicit ? '--sources' : 'REPROFARM_BENCH_SOURCES' };
  }
  const cached = path.join(cacheDir(), `${SUITE}-Sources`);
  if (existsSync(cached) && (await fs.stat(cached)).size > 0) return { file: cached, origin: 'cache' };
  await downloadSources(cached);
  return { file: cached, origin: 'downloaded with apt-get' };
}

// ---------------------------------------------------------------------------
// What the index holds, and the "small change" variant
// ---------------------------------------------------------------------------

interface IndexFacts {
  stanzas: number;
  packageLines: number;
  extraSourceOnly: number;
  /** distinct Package names over the stanzas that are not Extra-Source-Only: what sync should record */
  distinct: number;
  /** the changed index and the names whose version it bumped */
  bumpedText: string;
  bumped: string[];
}

function stanzaField(stanza: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(stanza);
  return m?.[1]?.trim();
}

function analyse(text: string): IndexFacts {
  const stanzas = text.split(/\n[ \t]*\n/).filter((s) => s.trim() !== '');
  const names = new Map<string, number>();
  let packageLines = 0;
  let extraSourceOnly = 0;
  const eligible: number[] = [];
  stanzas.forEach((s, i) => {
    const name = stanzaField(s, 'Package');
    if (name === undefined) return;
    packageLines++;
    if (stanzaField(s, 'Extra-Source-Only') === 'yes') {
      extraSourceOnly++;
      return;
    }
    names.set(name, (names.get(name) ?? 0) + 1);
    eligible.push(i);
  });
  // bump BUMPED packages spread over the index: names that occur once, with a .dsc line to rename
  const candidates = eligible.filter((i) => {
    const s = stanzas[i] ?? '';
    const name = stanzaField(s, 'Package') ?? '';
    const version = stanzaField(s, 'Version') ?? '';
    return names.get(name) === 1 && version !== '' && s.includes(` ${name}_${version.replace(/^\d+:/, '')}.dsc`);
  });
  if (candidates.length < BUMPED) throw new CheckFailed(`the Sources index has only ${candidates.length} stanzas fit for a version bump (need ${BUMPED})`);
  const step = Math.floor(candidates.length / BUMPED);
  const bumped: string[] = [];
  const changed = [...stanzas];
  for (let k = 0; k < BUMPED; k++) {
    const i = candidates[k * step + Math.floor(step / 2)] as number;
    const s = stanzas[i] as string;
    const name = stanzaField(s, 'Package') as string;
    const version = stanzaField(s, 'Version') as string;
    const noEpoch = version.replace(/^\d+:/, '');
    changed[i] = s
      .replace(/^Version:[ \t]*.*$/m, `Version: ${version}+b1`)
      .split(` ${name}_${noEpoch}.dsc`)
      .join(` ${name}_${noEpoch}+b1.dsc`);
    bumped.push(name);
  }
  return {
    stanzas: stanzas.length,
    packageLines,
    extraSourceOnly,
    distinct: names.size,
    bumpedText: `${changed.join('\n\n')}\n`,
    bumped,
  };
}

// ---------------------------------------------------------------------------
// The signed mirror
// ---------------------------------------------------------------------------

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * `xz -T0 -6 -k` of a Sources file; the result is kept in the cache dir by the
 * input's SHA256 (compressing 50 MB takes ~15 s on 2 cores), best effort.
 */
async function compressXz(file: string): Promise<{ seconds: number; cached: boolean }> {
  const t0 = performance.now();
  const sum = await sha256File(file);
  const cached = path.join(cacheDir(), 'xz', `${sum}.xz`);
  if (existsSync(cached)) {
    await fs.copyFile(cached, `${file}.xz`);
    return { seconds: (performance.now() - t0) / 1000, cached: true };
  }
  await runTool('xz', ['-T0', '-6', '-k', '-f', file], { timeoutMs: 600_000 });
  try {
    await fs.mkdir(path.dirname(cached), { recursive: true });
    await fs.copyFile(`${file}.xz`, `${cached}.tmp-${process.pid}`);
    await fs.rename(`${cached}.tmp-${process.pid}`, cached);
  } catch {
    // no cache: compress again next time
  }
  return { seconds: (performance.now() - t0) / 1000, cached: false };
}

/** dists/<SUITE>/Release listing `files`, and an InRelease clearsigned with the test mirror's key */
async function writeSignedRelease(dir: string, files: ReadonlyArray<readonly [string, Buffer]>, keys: TestMirror): Promise<void> {
  await fs.writeFile(path.join(dir, 'Release'), releaseText(SUITE, files));
  await runTool(
    'gpg',
    [
      ...GPG_BATCH,
      '--yes',
      '--local-user',
      keys.fingerprint,
      '--digest-algo',
      'SHA256',
      '--clearsign',
      '-o',
      path.join(dir, 'InRelease'),
      path.join(dir, 'Release'),
    ],
    { env: { GNUPGHOME: keys.gnupgHome } },
  );
}

/** dists/<SUITE>/main/source/Sources(.xz) and an InRelease clearsigned with the test mirror's key. */
async function writeMirror(root: string, text: Buffer, keys: TestMirror): Promise<{ xzS: number; xzCached: boolean }> {
  const dir = path.join(root, 'dists', SUITE);
  const src = path.join(dir, 'main', 'source', 'Sources');
  await fs.mkdir(path.dirname(src), { recursive: true });
  await fs.writeFile(src, text);
  const xz = await compressXz(src);
  await writeSignedRelease(
    dir,
    [
      ['main/source/Sources.xz', await fs.readFile(`${src}.xz`)],
      ['main/source/Sources', text],
    ],
    keys,
  );
  return { xzS: xz.seconds, xzCached: xz.cached };
}

/**
 * The hostile mirror: a Sources.xz, correctly signed, that decompresses to one
 * line of BOMB_BYTES ('a' without a newline). xz reads concatenated streams as
 * one file, so 16 MiB are compressed once and the stream repeated.
 */
async function writeBombMirror(root: string, keys: TestMirror): Promise<number> {
  const dir = path.join(root, 'dists', SUITE);
  await fs.mkdir(path.join(dir, 'main', 'source'), { recursive: true });
  const block = Buffer.alloc(16 << 20, 'a');
  const one = (await runTool('xz', ['-9', '-T1', '-c'], { input: block })).stdout;
  const data = Buffer.concat(Array.from({ length: BOMB_BYTES / block.length }, () => one));
  await fs.writeFile(path.join(dir, 'main', 'source', 'Sources.xz'), data);
  await writeSignedRelease(dir, [['main/source/Sources.xz', data]], keys);
  return data.length;
}

// ---------------------------------------------------------------------------
// Runs and checks
// ---------------------------------------------------------------------------

type ScenarioName = 'first sync' | 're-sync, unchanged' | 'full re-parse, no changes' | 'small change' | '1 GiB endless line';

interface SyncRun {
  scenario: ScenarioName;
  run: number;
  m: Measured;
  wallS: number;
  rssMb: number;
  syncMs: number;
}

interface SyncJson {
  suites: Array<{
    suite: string;
    ok: boolean;
    error: string | null;
    file: string | null;
    unchanged: boolean;
    duration_ms: number;
    warnings: string[];
    problems: Array<{ line: number; message: string }>;
    /** all problems (problems lists the first 100) */
    problems_total?: number;
    sources?: number;
    added?: number;
    new_versions?: number;
    removed?: number;
    architectures?: Array<{ arch: string; nfu: number; blacklisted: number; scheduled: Record<string, number> }>;
  }>;
}

async function measureSync(config: string, timeFile: string): Promise<{ m: Measured; wallS: number; rssMb: number }> {
  await fs.rm(timeFile, { force: true });
  const m = await runMeasured(shArgs([GNU_TIME, '-o', timeFile, '-f', '%e %M', process.execPath, CLI, '--config', config, '--json', 'sync']));
  const text = existsSync(timeFile) ? await fs.readFile(timeFile, 'utf8') : '';
  // GNU time adds "Command exited with non-zero status N" before the figures
  const last = text.trim().split('\n').at(-1) ?? '';
  const f = /^([\d.]+) (\d+)$/.exec(last);
  if (!f) throw new Error(`cannot read GNU time's output ${JSON.stringify(text)} (exit ${m.code}; stderr: ${tail(m.stderr, 5)})`);
  return { m, wallS: Number(f[1]), rssMb: Number(f[2]) / 1024 };
}

interface Expect {
  scenario: ScenarioName;
  run: number;
  distinct: number;
  unchanged: boolean;
  added: number;
  newVersions: number;
  /** names whose DB version must end in +b1 (true) or must not (false) */
  bumped?: { names: readonly string[]; bumpedNow: boolean };
}

function checkRun(m: Measured, dbPath: string, e: Expect): SyncJson['suites'][number] {
  const what = `${e.scenario} (run ${e.run})`;
  if (m.code !== 0) {
    throw new CheckFailed(
      `${what}: reprofarm sync exited with ${m.code === null ? `signal ${m.signal}` : `code ${m.code}`}\n--- stderr:\n${tail(m.stderr)}\n--- stdout:\n${tail(m.stdout)}`,
    );
  }
  let out: SyncJson;
  try {
    out = JSON.parse(m.stdout) as SyncJson;
  } catch {
    throw new CheckFailed(`${what}: stdout is not JSON:\n${tail(m.stdout)}`);
  }
  const s = out.suites[0];
  const problems: string[] = [];
  if (!s || out.suites.length !== 1) throw new CheckFailed(`${what}: expected one suite in the JSON summary, got ${out.suites.length}`);
  if (!s.ok) problems.push(`suite ${s.suite} failed: ${s.error}`);
  const sources = s.sources ?? -1;
  const skipped = e.distinct - sources;
  if (skipped < 0 || skipped > MAX_SKIPPED) {
    problems.push(`suites[0].sources = ${sources}, expected ${e.distinct} distinct Package stanzas (at most ${MAX_SKIPPED} skipped)`);
  } else if (!e.unchanged && skipped > (s.problems_total ?? s.problems.length)) {
    problems.push(
      `suites[0].sources = ${sources} is ${skipped} short of ${e.distinct}, but only ${s.problems_total ?? s.problems.length} problems are reported`,
    );
  }
  if (s.unchanged !== e.unchanged) problems.push(`unchanged = ${s.unchanged}, expected ${e.unchanged}`);
  if ((s.added ?? -1) !== e.added) problems.push(`added = ${s.added}, expected ${e.added}`);
  if ((s.new_versions ?? -1) !== e.newVersions) problems.push(`new_versions = ${s.new_versions}, expected ${e.newVersions}`);
  if ((s.removed ?? -1) !== 0) problems.push(`removed = ${s.removed}, expected 0`);
  const arches = new Map((s.architectures ?? []).map((a) => [a.arch, a]));
  for (const a of ARCHES) if (!arches.has(a)) problems.push(`no summary for architecture ${a}`);

  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const live = (db.prepare('SELECT COUNT(*) AS n FROM sources WHERE suite = ? AND removed_at IS NULL').get(SUITE) as { n: number }).n;
    const all = (db.prepare('SELECT COUNT(*) AS n FROM sources').get() as { n: number }).n;
    if (live !== sources || all !== sources) problems.push(`the DB has ${all} rows in sources (${live} not removed), the JSON says ${sources}`);
    const nfu = new Map(
      (db.prepare("SELECT arch, COUNT(*) AS n FROM results WHERE suite = ? AND status = 'NFU' GROUP BY arch").all(SUITE) as { arch: string; n: number }[]).map(
        (r) => [r.arch, r.n],
      ),
    );
    for (const a of ARCHES) {
      const j = arches.get(a)?.nfu;
      if (j !== (nfu.get(a) ?? 0)) problems.push(`${a}: the JSON says ${j} NFU, the DB has ${nfu.get(a) ?? 0}`);
    }
    for (const a of ['arm64', 'armhf']) if (!((nfu.get(a) ?? 0) > 0)) problems.push(`${a}: no NFU results (a real index has sources not for ${a})`);
    if (e.bumped) {
      const q = db.prepare('SELECT version FROM sources WHERE suite = ? AND name = ?');
      const wrong = e.bumped.names.filter((n) => {
        const v = (q.get(SUITE, n) as { version: string } | undefined)?.version ?? '';
        return v.endsWith('+b1') !== e.bumped?.bumpedNow;
      });
      if (wrong.length > 0)
        problems.push(`${wrong.length} of the ${e.bumped.names.length} changed sources have the wrong version in the DB (${wrong.slice(0, 5).join(', ')})`);
    }
  } finally {
    db.close();
  }
  if (problems.length > 0) throw new CheckFailed(`${what}:\n  ${problems.slice(0, 12).join('\n  ')}\n--- stderr:\n${tail(m.stderr, 12)}`);
  return s;
}

/** the bomb run: refused, for the line limit, and nothing recorded */
function checkBomb(m: Measured, dbPath: string, run: number): void {
  const what = `1 GiB endless line (run ${run})`;
  const fail = (why: string): never => {
    throw new CheckFailed(`${what}: ${why}\n--- stderr:\n${tail(m.stderr)}\n--- stdout:\n${tail(m.stdout)}`);
  };
  if (m.code !== 1) fail(`reprofarm sync exited with ${m.code === null ? `signal ${m.signal}` : `code ${m.code}`}, expected 1 (its only suite refused)`);
  let out: SyncJson | undefined;
  try {
    out = JSON.parse(m.stdout) as SyncJson;
  } catch {
    fail('stdout is not JSON');
  }
  const s = out?.suites[0];
  if (!s || s.ok) fail('the suite was not refused');
  if (!/Sources\.xz line 1 is longer than \d+ bytes \(sync\.max_line_bytes\)/.test(s?.error ?? '')) fail(`refused for another reason: ${s?.error}`);
  if (existsSync(dbPath)) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const n = (db.prepare('SELECT COUNT(*) AS n FROM sources').get() as { n: number }).n;
      if (n !== 0) fail(`the DB has ${n} rows in sources, expected none`);
    } finally {
      db.close();
    }
  }
}

function versionOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (`${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '') || 'unknown';
}

export async function run(opts: { sources?: string } = {}): Promise<void> {
  console.log(`== sync: a real ${SUITE} Sources index, ${ARCHES.length} architectures, signed mirror on disk ==`);
  for (const [k, v] of machineInfo()) console.log(`${k.padEnd(7)} ${v}`);
  if (!existsSync(GNU_TIME)) throw new CheckFailed(`${GNU_TIME} (GNU time) is missing: apt-get install --no-install-recommends time`);
  for (const [tool, pkg] of [
    ['xz', 'xz-utils'],
    ['gpg', 'gpg'],
    ['gpgv', 'gpgv'],
  ] as const) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0)
      throw new CheckFailed(`${tool} is missing: apt-get install --no-install-recommends ${pkg}`);
  }
  console.log(`tools   ${versionOf('xz', ['--version'])}; ${versionOf('gpgv', ['--version'])}; ${versionOf(GNU_TIME, ['--version'])}`);

  const buildS = buildDist();
  console.log(`built   dist/ with npm run build in ${fmt(buildS, 1)} s`);

  const input = await obtainSources(opts.sources ?? optionValue(process.argv.slice(2), '--sources'));
  const text = await fs.readFile(input.file, 'utf8');
  const facts = analyse(text);
  console.log(
    `input   ${input.file} (${input.origin}): ${fmt(Buffer.byteLength(text) / 2 ** 20, 1)} MiB, ${facts.stanzas} stanzas, ` +
      `${facts.packageLines} Package: lines, ${facts.extraSourceOnly} Extra-Source-Only, ${facts.distinct} distinct sources expected`,
  );

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprofarm-bench-sync-'));
  let keys: TestMirror | undefined;
  const stopAll = async (): Promise<void> => {
    await keys?.cleanup();
    await fs.rm(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: cleaning up`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // the test mirror harness only provides the throwaway signing key here
    keys = await createTestMirror({ dir: tmp });
    const mirrorA = path.join(tmp, 'mirror-original');
    const mirrorB = path.join(tmp, 'mirror-changed');
    const a = await writeMirror(mirrorA, Buffer.from(text, 'utf8'), keys);
    const b = await writeMirror(mirrorB, Buffer.from(facts.bumpedText, 'utf8'), keys);
    const xzSize = (await fs.stat(path.join(mirrorA, 'dists', SUITE, 'main', 'source', 'Sources.xz'))).size;
    console.log(
      `mirror  ${mirrorA}: Sources + Sources.xz (${fmt(xzSize / 2 ** 20, 1)} MiB, xz -T0 -6 ${a.xzCached ? 'from the cache' : `in ${fmt(a.xzS, 1)} s`}), ` +
        `Release, InRelease clearsigned by ${keys.fingerprint.slice(-16)}`,
    );
    console.log(`mirror  ${mirrorB}: the same with ${BUMPED} versions bumped (+b1) (xz ${b.xzCached ? 'from the cache' : `in ${fmt(b.xzS, 1)} s`})`);

    const configFor = async (name: string, mirror: string, stateDir: string): Promise<string> => {
      const file = path.join(tmp, `${name}.yaml`);
      await fs.writeFile(
        file,
        [
          `# reprofarm sync benchmark (${name})`,
          `state_dir: ${JSON.stringify(stateDir)}`,
          `mirror: ${JSON.stringify(mirror)}`,
          `mirror_keyring: ${JSON.stringify(keys?.keyring ?? '')}`,
          `suites: [${SUITE}]`,
          `architectures: [${ARCHES.join(', ')}]`,
          'nodes:',
          '  l1: { transport: local }',
          '',
        ].join('\n'),
      );
      return file;
    };
    const timeFile = path.join(tmp, 'time.out');
    const runs: SyncRun[] = [];
    let problemsShown = false;
    const measure = async (
      scenario: ScenarioName,
      runNo: number,
      config: string,
      stateDir: string,
      e: Omit<Expect, 'scenario' | 'run' | 'distinct'>,
    ): Promise<void> => {
      const { m, wallS, rssMb } = await measureSync(config, timeFile);
      const s = checkRun(m, path.join(stateDir, 'reproducible.db'), { scenario, run: runNo, distinct: facts.distinct, ...e });
      runs.push({ scenario, run: runNo, m, wallS, rssMb, syncMs: s.duration_ms });
      console.log(
        `  ${scenario.padEnd(26)} run ${runNo}  wall ${fmt(wallS).padStart(5)} s  max RSS ${fmt(rssMb, 0).padStart(4)} MB  ` +
          `CPU ${fmt(m.cpuS).padStart(5)} s (user ${fmt(m.userS)} + sys ${fmt(m.sysS)})  sync itself ${fmt(s.duration_ms / 1000)} s  ` +
          `${s.unchanged ? 'index unchanged, not parsed' : `parsed ${s.file}`}; ${s.sources} sources, ${s.added} added, ${s.new_versions} new versions`,
      );
      if (!problemsShown && s.problems.length > 0) {
        problemsShown = true;
        console.log(`    ${s.problems.length} stanza(s) skipped by reprofarm (allowed: at most ${MAX_SKIPPED}):`);
        for (const p of s.problems.slice(0, MAX_SKIPPED)) console.log(`      line ${p.line}: ${p.message}`);
      }
      if (runNo === 1 && scenario === 'first sync') {
        for (const x of s.architectures ?? []) {
          const sch = Object.entries(x.scheduled)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ');
          console.log(`    ${x.arch}: ${x.nfu} NFU, ${x.blacklisted} blacklisted, scheduled: ${sch}`);
        }
      }
    };

    console.log(`\nruns (${ROUNDS} each; wall and max RSS of the node process from GNU time, CPU = user+sys of the whole tree incl. xz and gpgv):`);
    let stateDir = '';
    for (let i = 1; i <= ROUNDS; i++) {
      stateDir = path.join(tmp, `state-${i}`);
      await measure('first sync', i, await configFor(`original-${i}`, mirrorA, stateDir), stateDir, {
        unchanged: false,
        added: facts.distinct,
        newVersions: 0,
      });
    }
    // the last first-sync's state goes on
    const cfgA = await configFor('original', mirrorA, stateDir);
    const cfgB = await configFor('changed', mirrorB, stateDir);
    const dbPath = path.join(stateDir, 'reproducible.db');
    for (let i = 1; i <= ROUNDS; i++) {
      await measure('re-sync, unchanged', i, cfgA, stateDir, { unchanged: true, added: 0, newVersions: 0 });
    }
    for (let i = 1; i <= ROUNDS; i++) {
      const db = new Database(dbPath, { fileMustExist: true });
      try {
        db.prepare('DELETE FROM sync_state').run();
      } finally {
        db.close();
      }
      await measure('full re-parse, no changes', i, cfgA, stateDir, { unchanged: false, added: 0, newVersions: 0 });
    }
    for (let i = 1; i <= ROUNDS; i++) {
      const toChanged = i % 2 === 1;
      await measure('small change', i, toChanged ? cfgB : cfgA, stateDir, {
        unchanged: false,
        added: 0,
        newVersions: BUMPED,
        bumped: { names: facts.bumped, bumpedNow: toChanged },
      });
    }

    const mirrorBomb = path.join(tmp, 'mirror-bomb');
    const bombXz = await writeBombMirror(mirrorBomb, keys);
    console.log(
      `mirror  ${mirrorBomb}: a hostile Sources.xz of ${fmt(bombXz / 1024, 0)} KiB that decompresses to one ${fmt(BOMB_BYTES / 2 ** 30, 0)} GiB line, correctly signed`,
    );
    for (let i = 1; i <= ROUNDS; i++) {
      const bombState = path.join(tmp, `state-bomb-${i}`);
      const { m, wallS, rssMb } = await measureSync(await configFor(`bomb-${i}`, mirrorBomb, bombState), timeFile);
      checkBomb(m, path.join(bombState, 'reproducible.db'), i);
      const suite = (JSON.parse(m.stdout) as SyncJson).suites[0];
      const error = suite?.error ?? '';
      runs.push({ scenario: '1 GiB endless line', run: i, m, wallS, rssMb, syncMs: suite?.duration_ms ?? 0 });
      console.log(
        `  ${'1 GiB endless line'.padEnd(26)} run ${i}  wall ${fmt(wallS).padStart(5)} s  max RSS ${fmt(rssMb, 0).padStart(4)} MB  ` +
          `CPU ${fmt(m.cpuS).padStart(5)} s (user ${fmt(m.userS)} + sys ${fmt(m.sysS)})  error: ${error.replace(/^\S*dists\//, 'dists/')}`,
      );
    }

    const scenarios: Array<[ScenarioName, string]> = [
      ['first sync', 'empty state dir'],
      ['re-sync, unchanged', 'same signed Release: Sources not parsed'],
      ['full re-parse, no changes', 'DELETE FROM sync_state first'],
      ['small change', `${BUMPED} new versions (alternating)`],
      ['1 GiB endless line', `hostile signed Sources.xz (${fmt(bombXz / 1024, 0)} KiB): refused, nothing recorded`],
    ];
    const of = (s: ScenarioName): SyncRun[] => runs.filter((r) => r.scenario === s);
    const rows = scenarios.map(([s]) => {
      const rs = of(s);
      return [
        s,
        fmt(median(rs.map((r) => r.wallS))),
        fmt(Math.min(...rs.map((r) => r.wallS))),
        fmt(Math.max(...rs.map((r) => r.wallS))),
        fmt(median(rs.map((r) => r.m.cpuS))),
        fmt(median(rs.map((r) => r.syncMs / 1000))),
        fmt(median(rs.map((r) => r.rssMb)), 0),
        fmt(Math.max(...rs.map((r) => r.rssMb)), 0),
      ];
    });
    console.log(`\nmedians of ${ROUNDS} runs, ${facts.distinct} sources, ${ARCHES.length} architectures (${ARCHES.join(' ')}):`);
    console.log(table(['scenario', 'wall s', 'min s', 'max s', 'CPU s', 'sync s', 'RSS MB', 'max RSS MB'], rows));
    for (const [s, what] of scenarios) console.log(`  ${s.padEnd(26)} ${what}`);
    console.log("(wall: the whole CLI process incl. node startup; sync s: the suite's duration_ms from the JSON summary; CPU incl. xz and gpgv)");

    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    const firstWall = median(of('first sync').map((r) => r.wallS));
    const firstRss = Math.max(...of('first sync').map((r) => r.rssMb));
    const resync = median(of('re-sync, unchanged').map((r) => r.wallS));
    const reparse = median(of('full re-parse, no changes').map((r) => r.wallS));
    const small = median(of('small change').map((r) => r.wallS));
    console.log('\ngoals:');
    console.log(`  first sync wall = ${fmt(firstWall)} s (goal < ${GOALS.firstSyncWallS} s)  ${verdict(firstWall < GOALS.firstSyncWallS)}`);
    console.log(
      `  first sync max RSS = ${fmt(firstRss, 0)} MB, worst of ${ROUNDS} (goal < ${GOALS.firstSyncRssMb} MB)  ${verdict(firstRss < GOALS.firstSyncRssMb)}`,
    );
    console.log(`  re-sync with no changes wall = ${fmt(resync)} s (goal < ${GOALS.resyncWallS} s)  ${verdict(resync < GOALS.resyncWallS)}`);
    console.log(
      `  full re-parse, no changes wall = ${fmt(reparse)} s (informational, against the same < ${GOALS.resyncWallS} s)  ${reparse < GOALS.resyncWallS ? 'under' : 'over'}`,
    );
    console.log(`  small change (${BUMPED} new versions) wall = ${fmt(small)} s (informational, no goal)`);
    const bombWall = median(of('1 GiB endless line').map((r) => r.wallS));
    const bombRss = Math.max(...of('1 GiB endless line').map((r) => r.rssMb));
    console.log(`  1 GiB endless line refused, wall = ${fmt(bombWall)} s (goal < ${GOALS.bombWallS} s)  ${verdict(bombWall < GOALS.bombWallS)}`);
    console.log(
      `  1 GiB endless line refused, max RSS = ${fmt(bombRss, 0)} MB, worst of ${ROUNDS} (goal < ${GOALS.bombRssMb} MB)  ${verdict(bombRss < GOALS.bombRssMb)}`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

// `npx tsx bench/sync.ts [--sources FILE]`: this benchmark alone, with options
await runIfMain('sync', import.meta.url, run);
