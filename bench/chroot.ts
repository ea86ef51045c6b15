/**
 * Chroot benchmark: the chroot backend (build.backend: chroot) on a real
 * package from the real Debian mirror, side by side in one run.
 *
 * (a) Making a chroot: `node-build.sh chroot-update bookworm amd64 bookworm 0`
 *     (mmdebstrap --mode=unshare --variant=buildd, what `reprofarm chroot
 *     update` runs on each node) into a workdir of its own, then again with
 *     MAX_AGE_S 0 (a refresh is a remake), then with a day as MAX_AGE_S (the
 *     "fresh" no-op check a timer pays every day).
 * (b) reprofarm's overhead per pair: `reprofarm build local1 local2` of hello
 *     (a config like the embedded default: two local nodes, build.backend
 *     chroot, the real mirror, synced with `schedule.max_per_arch: 0`, then
 *     `reprofarm schedule bookworm amd64 hello`; build 2's DATE real, so that
 *     hello, which embeds the build year, is reproducible) against the same
 *     two builds done by hand with the same commands and variations
 *     (bench/chroot-by-hand.sh 1, then 2: unshare + tar, dpkg-source -x,
 *     apt-get build-dep, setpriv ... dpkg-buildpackage). Overhead = reprofarm's
 *     wall time - the by-hand wall time. Goals: at most 5% of the by-hand
 *     time and at most 2 s.
 * (c) The same package built twice with sbuild's unshare mode from the same
 *     tarball (no lintian, piuparts, autopkgtest or apt-get update; sbuild
 *     applies none of reprofarm's variations). Goal: reprofarm no slower.
 *
 * Every build of (b) and (c) unpacks the one tarball made in (a) (hard
 * links) and downloads its Build-Depends from the mirror. The mirror is read
 * from apt's own sources list (the first URIs: of
 * /etc/apt/sources.list.d/*.sources), the keyring is Debian's. Needs root
 * with a subuid range (scripts/install.sh), network access to that mirror,
 * mmdebstrap, sbuild, uidmap, zstd, sqlite3.
 *
 * $REPROFARM_BENCH_CHROOT_ROUNDS (default 1) rounds of (b) and (c), each
 * round reprofarm, by hand, sbuild in turn. Everything is under
 * /tmp/reprofarm-bench-chroot-*, removed at the end
 * ($REPROFARM_BENCH_KEEP=1 keeps it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildDist,
  CheckFailed,
  envInts,
  fmt,
  machineInfo,
  type Measured,
  median,
  parseTimes,
  ROOT,
  runIfMain,
  runMeasured,
  shArgs,
  shQuote,
  table,
  waitForQuiet,
} from './lib.js';

const SUITE = 'bookworm';
const ARCH = 'amd64';
const PKG = 'hello';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const CLI = path.join(ROOT, 'bin', 'reprofarm.js');
const NODE_BUILD = path.join(ROOT, 'builder', 'node-build.sh');
const BY_HAND = path.join(ROOT, 'bench', 'chroot-by-hand.sh');
const ROUNDS = envInts('REPROFARM_BENCH_CHROOT_ROUNDS', [1], 1, 20)[0] ?? 1;
/**
 * Build 2's FILEORDERING, for reprofarm's job and the by-hand script alike:
 * native, because with disorderfs --shuffle-dirents over /build the chroot
 * build's `cd` into the tree fails (ENOTDIR) on this machine; set
 * $REPROFARM_BENCH_CHROOT_FILEORDERING=default to try the default again.
 */
const FILEORDERING_2 = process.env.REPROFARM_BENCH_CHROOT_FILEORDERING === 'default' ? 'default' : 'native';
const GOALS = { overheadShare: 0.05, overheadS: 2 };

/** Before each measured run: wait (up to 2 minutes) for the machine to settle; say how long and the load if it did not. */
async function settle(): Promise<string> {
  const waited = await waitForQuiet(0.15, 1000, 60_000);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return waited >= 60 ? ` [not quiet after 60 s, load ${load}]` : waited > 2 ? ` [waited ${fmt(waited, 0)} s for quiet, load ${load}]` : ` [load ${load}]`;
}

function tail(text: string, lines = 20): string {
  const t = text.trim();
  return t ? t.split('\n').slice(-lines).join('\n') : '(empty)';
}

/** The mirror apt on this machine uses: the first URIs: value of its deb822 sources. */
export function aptMirror(): string {
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.sources'))
        .sort()
    : [];
  for (const f of files) {
    const m = /^URIs:\s*(\S+)/im.exec(readFileSync(path.join(dir, f), 'utf8'));
    if (m?.[1]) return m[1].replace(/\/+$/, '');
  }
  throw new CheckFailed(`no URIs: line in ${dir}/*.sources: cannot tell which Debian mirror this machine uses`);
}

interface Stamped extends Measured {
  lines: Array<{ atS: number; text: string }>;
}

/** runMeasured with each stderr line stamped with its arrival time (seconds after the spawn). */
function runStamped(argv: readonly string[]): Promise<Stamped> {
  const wrapped = `(\n${shArgs(argv)}\n)\nst=$?\ntimes >&3\nexit $st\n`;
  return new Promise<Stamped>((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/bin/sh', ['-c', wrapped], { cwd: ROOT, env: { ...process.env, REPROFARM_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let times = '';
    const lines: Array<{ atS: number; text: string }> = [];
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      const atS = (performance.now() - t0) / 1000;
      stderr += c;
      const parts = (partial + c).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ atS, text });
    });
    const fd3 = child.stdio[3];
    if (!fd3 || !('on' in fd3)) return reject(new Error('internal: no fd 3 pipe'));
    fd3.on('data', (c: Buffer) => (times += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const wallS = (performance.now() - t0) / 1000;
      if (partial) lines.push({ atS: wallS, text: partial });
      try {
        const cpu = parseTimes(times);
        resolve({ wallS, ...cpu, cpuS: cpu.userS + cpu.sysS, machineCpuS: NaN, code, signal, stdout, stderr, lines });
      } catch (e) {
        reject(new Error(`${(e as Error).message}\n(exit ${code ?? signal}; stderr: ${tail(stderr)})`));
      }
    });
  });
}

/** An unmeasured CLI call; throws unless it exits 0. */
async function cli(config: string, args: readonly string[]): Promise<string> {
  const m = await runMeasured(shArgs([process.execPath, CLI, '--config', config, ...args]), { env: { ...process.env, REPROFARM_CONFIG: '' } });
  if (m.code !== 0) throw new CheckFailed(`reprofarm ${args.join(' ')} exited with ${m.code ?? m.signal}\n--- stderr:\n${tail(m.stderr)}`);
  return m.stdout;
}

function parseKv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** The .debs of a results folder by name, with their SHA256. */
async function debSums(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.deb')).sort()) out.set(f, await sha256File(path.join(dir, f)));
  return out;
}

function sameDebs(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size > 0 && a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

// ---------------------------------------------------------------------------
// (a) making the chroot
// ---------------------------------------------------------------------------

interface UpdateRun {
  what: string;
  m: Measured;
  info: Map<string, string>;
}

async function chrootUpdate(workdir: string, stdinFile: string, maxAgeS: number, what: string): Promise<UpdateRun> {
  const m = await runMeasured(
    `REPROFARM_NODE=bench REPROFARM_WORKDIR=${shQuote(workdir)} sh ${shQuote(NODE_BUILD)} chroot-update ${SUITE} ${ARCH} ${SUITE} ${maxAgeS} < ${shQuote(stdinFile)}`,
  );
  if (m.code !== 0) throw new CheckFailed(`${what}: node-build.sh chroot-update exited ${m.code ?? m.signal}\n${tail(m.stderr)}`);
  const info = parseKv(m.stdout);
  if (!/^[0-9a-f]{64}$/.test(info.get('SHA256') ?? '')) throw new CheckFailed(`${what}: no SHA256 in its output:\n${tail(m.stdout)}`);
  return { what, m, info };
}

// ---------------------------------------------------------------------------
// (b) and (c): the pairs
// ---------------------------------------------------------------------------

interface PairRun {
  wallS: number;
  /** the build proper (dpkg-buildpackage) of build 1 and build 2 */
  buildS: [number, number];
  reproducible: boolean;
  note: string;
}

interface ReprofarmPair extends PairRun {
  m: Stamped;
  fileordering: string;
}

async function reprofarmPair(config: string, stateDir: string, version: string): Promise<ReprofarmPair> {
  await cli(config, ['--quiet', 'schedule', SUITE, ARCH, PKG]);
  const m = await runStamped([process.execPath, CLI, '--config', config, '--json', '--verbose', 'build', 'local1', 'local2']);
  if (m.code !== 0) throw new CheckFailed(`reprofarm build exited ${m.code ?? m.signal}\n--- stderr:\n${tail(m.stderr)}\n--- stdout:\n${tail(m.stdout)}`);
  const out = JSON.parse(m.stdout) as { outcome?: string; status?: string; reason?: string };
  if (out.outcome !== 'recorded' || (out.status !== 'reproducible' && out.status !== 'unreproducible'))
    throw new CheckFailed(`reprofarm build: outcome ${out.outcome}, status ${out.status} (${out.reason ?? ''})\n${tail(m.stderr)}`);
  const ms: number[] = [];
  let fileordering = '';
  for (const node of ['local1', 'local2']) {
    const st = parseKv(await fs.readFile(path.join(stateDir, 'results', node, SUITE, ARCH, PKG, version, 'status'), 'utf8'));
    ms.push(Number(st.get('BUILD_COMMAND_MS')) / 1000);
    if (node === 'local2') fileordering = st.get('VAR_FILEORDERING') ?? '?';
  }
  return { m, wallS: m.wallS, buildS: [ms[0] ?? NaN, ms[1] ?? NaN], reproducible: out.status === 'reproducible', note: out.status ?? '', fileordering };
}

interface ByHandPair extends PairRun {
  steps: Array<Map<string, number>>;
  fileordering: string;
}

async function byHandPair(tarball: string, dsc: string, dir: string): Promise<ByHandPair> {
  await fs.rm(dir, { recursive: true, force: true });
  const q = (s: string): string => shQuote(s);
  const one = (b: 1 | 2): string => `sh ${q(BY_HAND)} ${b} ${q(tarball)} ${q(dsc)} ${q(path.join(dir, 'w'))} ${q(path.join(dir, 'out'))}`;
  const m = await runMeasured(`${one(1)} && echo END 1 && FILEORDERING=${FILEORDERING_2} ${one(2)} && echo END 2`);
  if (m.code !== 0) throw new CheckFailed(`by hand: exited ${m.code ?? m.signal}\n${tail(m.stderr)}\n${tail(m.stdout)}`);
  const steps: Array<Map<string, number>> = [new Map<string, number>(), new Map<string, number>()];
  let b = 0;
  for (const line of m.stdout.split('\n')) {
    const s = /^STEP (\S+) (\d+)$/.exec(line);
    if (s?.[1] && s[2]) steps[b]?.set(s[1], Number(s[2]) / 1000);
    if (line.startsWith('END ')) b++;
  }
  const fo = /^FILEORDERING (.*)$/m.exec(m.stdout)?.[1] ?? '?';
  const d1 = await debSums(path.join(dir, 'out', '1'));
  const d2 = await debSums(path.join(dir, 'out', '2'));
  const rep = sameDebs(d1, d2);
  return {
    wallS: m.wallS,
    buildS: [steps[0]?.get('build') ?? NaN, steps[1]?.get('build') ?? NaN],
    reproducible: rep,
    note: rep ? 'same .debs' : 'the .debs differ',
    steps,
    fileordering: fo,
  };
}

async function sbuildPair(tarball: string, dsc: string, dir: string): Promise<PairRun> {
  await fs.rm(dir, { recursive: true, force: true });
  const args = (n: number): string[] => [
    'sbuild',
    '--chroot-mode=unshare',
    `--dist=${SUITE}`,
    `--arch=${ARCH}`,
    `--chroot=${tarball}`,
    '--no-run-lintian',
    '--no-run-piuparts',
    '--no-run-autopkgtest',
    '--no-apt-update',
    '--no-apt-upgrade',
    '--no-apt-distupgrade',
    '--no-source',
    '--arch-any',
    '--arch-all',
    `--build-dir=${path.join(dir, String(n))}`,
    dsc,
  ];
  for (const n of [1, 2]) await fs.mkdir(path.join(dir, String(n)), { recursive: true });
  const line = (n: number): string => `${shArgs(args(n))} > ${shQuote(path.join(dir, `sbuild${n}.out`))} 2>&1`;
  const m = await runMeasured(`cd ${shQuote(dir)} && ${line(1)} && ${line(2)}`);
  if (m.code !== 0) {
    const log = await fs.readFile(path.join(dir, 'sbuild1.out'), 'utf8').catch(() => '');
    throw new CheckFailed(`sbuild exited ${m.code ?? m.signal}\n${tail(m.stderr)}\n${tail(log)}`);
  }
  // the build proper: the Build-Time: sbuild writes into its .build log
  const buildS: number[] = [];
  for (const n of [1, 2]) {
    const d = path.join(dir, String(n));
    const logName = (await fs.readdir(d)).find((f) => f.endsWith('.build'));
    const log = logName ? await fs.readFile(path.join(d, logName), 'utf8') : '';
    buildS.push(Number(/^Build-Time: (\d+)$/m.exec(log)?.[1] ?? NaN));
  }
  const rep = sameDebs(await debSums(path.join(dir, '1')), await debSums(path.join(dir, '2')));
  return { wallS: m.wallS, buildS: [buildS[0] ?? NaN, buildS[1] ?? NaN], reproducible: rep, note: rep ? 'same .debs' : 'the .debs differ' };
}

/** hello's .dsc and files from the mirror, the .dsc checked against the synced (signed) Sources index, the files against the .dsc. */
async function fetchSources(mirror: string, stateDir: string, dir: string): Promise<{ dsc: string; version: string }> {
  const q = await runMeasured(
    `sqlite3 -separator ' ' ${shQuote(path.join(stateDir, 'reproducible.db'))} ${shQuote(`SELECT version, directory, dsc_name, dsc_sha256 FROM sources WHERE suite = '${SUITE}' AND name = '${PKG}' AND removed_at IS NULL`)}`,
  );
  const [version, directory, dscName, dscSha] = q.stdout.trim().split(' ');
  if (q.code !== 0 || !version || !directory || !dscName || !dscSha)
    throw new CheckFailed(`${PKG} is not in the synced ${SUITE} sources: ${q.stderr}${q.stdout}`);
  await fs.mkdir(dir, { recursive: true });
  const get = async (name: string): Promise<string> => {
    const res = await fetch(`${mirror}/${directory}/${name}`);
    if (!res.ok) throw new CheckFailed(`${mirror}/${directory}/${name}: HTTP ${res.status}`);
    const file = path.join(dir, name);
    await fs.writeFile(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };
  const dsc = await get(dscName);
  if ((await sha256File(dsc)) !== dscSha) throw new CheckFailed(`${dscName}: SHA256 differs from the signed Sources index`);
  const text = await fs.readFile(dsc, 'utf8');
  const block = /^Checksums-Sha256:\n((?: .*\n?)+)/m.exec(text)?.[1] ?? '';
  for (const l of block.split('\n').filter(Boolean)) {
    const [sum, , name] = l.trim().split(/\s+/);
    if (!sum || !name || !/^[A-Za-z0-9.+~_-]+$/.test(name)) throw new CheckFailed(`${dscName}: odd Checksums-Sha256 line ${l}`);
    if ((await sha256File(await get(name))) !== sum) throw new CheckFailed(`${name}: SHA256 differs from ${dscName}`);
  }
  return { dsc, version };
}

// ---------------------------------------------------------------------------

export async function run(): Promise<void> {
  console.log('== chroot: making chroots, and a real pair (hello) by reprofarm, by hand and by sbuild, on the chroot backend ==');
  for (const [k, v] of machineInfo()) console.log(`${k.padEnd(7)} ${v}`);
  if (process.getuid?.() !== 0) throw new CheckFailed('run as root (the local nodes build as this user, with its subuid range)');
  for (const tool of ['mmdebstrap', 'sbuild', 'unshare', 'zstd', 'sqlite3', 'newuidmap']) {
    if ((await runMeasured(`command -v ${tool} >/dev/null`)).code !== 0) throw new CheckFailed(`${tool} is missing (sh scripts/install.sh)`);
  }
  const mirror = aptMirror();
  console.log(`mirror  apt's first URIs: (${mirror.replace(/^(\w+:\/\/)[^/]+/, '$1...')}), keyring ${KEYRING}`);
  console.log(`built   dist/ with npm run build in ${fmt(buildDist(), 1)} s`);

  const tmp = await fs.mkdtemp('/tmp/reprofarm-bench-chroot-');
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: stopping (the temporary files stay in ${tmp})`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // (a)
    const cu = path.join(tmp, 'cu');
    const stdinFile = path.join(tmp, 'chroot-update.stdin');
    await fs.writeFile(stdinFile, `MIRROR=${mirror}\n${(await fs.readFile(KEYRING)).toString('base64')}\n`);
    console.log('\n(a) node-build.sh chroot-update bookworm amd64 bookworm MAX_AGE_S (mmdebstrap --mode=unshare --variant=buildd):');
    const ups: UpdateRun[] = [];
    for (const [age, what] of [
      [0, 'make (MAX_AGE_S 0, no tarball yet)'],
      [0, 'refresh (MAX_AGE_S 0 again: a remake)'],
      [86_400, 'fresh check (MAX_AGE_S 86400)'],
    ] as const) {
      const q = await settle();
      const u = await chrootUpdate(cu, stdinFile, age, what);
      ups.push({ ...u, what: what + q });
      console.log(`  ${what}: ${fmt(u.m.wallS, 1)} s${q}`);
    }
    if (ups[2]?.info.get('FRESH') !== '1') throw new CheckFailed('the fresh check remade the tarball (no FRESH=1)');
    console.log(
      table(
        ['run', 'wall s', 'CPU s', 'tarball MB'],
        ups.map((u) => [u.what, fmt(u.m.wallS), fmt(u.m.cpuS), fmt(Number(u.info.get('SIZE')) / 2 ** 20, 1)]),
      ),
    );
    const makeS = ups[0]?.m.wallS ?? NaN;
    const remakeS = ups[1]?.m.wallS ?? NaN;
    console.log(`    refresh / make ${fmt(remakeS / makeS)}; fresh check / make ${fmt((ups[2]?.m.wallS ?? NaN) / makeS, 4)}`);
    const tarball = path.join(cu, 'chroots', `${SUITE}-${ARCH}.tar.zst`);

    // the farm: two local nodes, the chroot backend, the real mirror
    const rf = path.join(tmp, 'rf');
    const stateDir = path.join(rf, 'state');
    const config = path.join(rf, 'reprofarm.yaml');
    await fs.mkdir(rf, { recursive: true });
    await fs.writeFile(
      config,
      [
        '# reprofarm chroot benchmark: the embedded default with the chroot backend and the real mirror',
        `state_dir: ${JSON.stringify(stateDir)}`,
        `site_dir: ${JSON.stringify(path.join(rf, 'public'))}`,
        `mirror: ${mirror}`,
        `mirror_keyring: ${KEYRING}`,
        `suites: [${SUITE}]`,
        `architectures: [${ARCH}]`,
        'schedule: { max_per_arch: 0 }',
        'nodes:',
        '  local1: { transport: local }',
        '  local2: { transport: local }',
        'jobs:',
        `  bench_chroot: { nodes: [local1, local2], variations: { build2: { DATE: real${FILEORDERING_2 === 'native' ? ', FILEORDERING: native' : ''} } } }`,
        'build: { backend: chroot }',
        '',
      ].join('\n'),
    );
    let t = performance.now();
    await cli(config, ['--quiet', 'sync']);
    console.log(`\nfarm    ${config}: synced ${SUITE} (signature checked) in ${fmt((performance.now() - t) / 1000, 1)} s`);
    for (const node of ['local1', 'local2']) {
      const d = path.join(stateDir, 'nodes', node, 'chroots');
      await fs.mkdir(d, { recursive: true });
      for (const f of ['', '.info']) await fs.link(tarball + f, path.join(d, `${SUITE}-${ARCH}.tar.zst${f}`));
    }
    t = performance.now();
    await cli(config, ['--quiet', 'collect']);
    await cli(config, ['--quiet', 'chroot', 'update']);
    console.log(
      `        the tarball of (a) hard-linked into both nodes' workdirs; reprofarm collect and chroot update (up to date) in ${fmt((performance.now() - t) / 1000, 1)} s`,
    );
    const src = await fetchSources(mirror, stateDir, path.join(tmp, 'src'));
    console.log(`sources ${path.basename(src.dsc)} (checked against the signed Sources index) in ${path.dirname(src.dsc)}`);

    // (b) and (c), in turn
    const rfRuns: ReprofarmPair[] = [];
    const handRuns: ByHandPair[] = [];
    const sbRuns: PairRun[] = [];
    const build = (p: PairRun): string => `build ${fmt(p.buildS[0], 1)} + ${fmt(p.buildS[1], 1)} s`;
    console.log(`\n(b), (c): ${ROUNDS} round(s) of: reprofarm build local1 local2, the same two builds by hand, two sbuild runs`);
    for (let r = 1; r <= ROUNDS; r++) {
      let q = await settle();
      const a = await reprofarmPair(config, stateDir, src.version);
      rfRuns.push(a);
      console.log(
        `  round ${r} reprofarm  wall ${fmt(a.wallS, 1)} s  ${build(a)}  main CPU ${fmt(a.m.cpuS, 1)} s  ${a.note}  FILEORDERING ${a.fileordering}${q}`,
      );
      q = await settle();
      const h = await byHandPair(tarball, src.dsc, path.join(tmp, `hand${r}`));
      handRuns.push(h);
      const st = (i: 0 | 1): string => ['unpack', 'source', 'build-dep', 'build', 'collect'].map((k) => `${k} ${fmt(h.steps[i]?.get(k) ?? NaN, 1)}`).join(', ');
      console.log(`  round ${r} by hand    wall ${fmt(h.wallS, 1)} s  ${build(h)}  ${h.note}  FILEORDERING ${h.fileordering}${q}`);
      console.log(`                       build 1: ${st(0)}; build 2: ${st(1)} s`);
      q = await settle();
      const s = await sbuildPair(tarball, src.dsc, path.join(tmp, `sbuild${r}`));
      sbRuns.push(s);
      console.log(`  round ${r} sbuild     wall ${fmt(s.wallS, 1)} s  Build-Time ${fmt(s.buildS[0], 0)} + ${fmt(s.buildS[1], 0)} s  ${s.note}${q}`);
    }
    const last = rfRuns[rfRuns.length - 1];
    if (last) {
      console.log('\nthe last reprofarm pair, its --verbose lines (seconds after the spawn):');
      for (const l of last.m.lines.filter((x) => x.text.trim())) console.log(`  ${fmt(l.atS, 1).padStart(6)}  ${l.text.slice(0, 160)}`);
    }

    const rfWall = median(rfRuns.map((x) => x.wallS));
    const handWall = median(handRuns.map((x) => x.wallS));
    const sbWall = median(sbRuns.map((x) => x.wallS));
    const overhead = rfWall - handWall;
    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    console.log(`\nmedians of ${ROUNDS} (wall s; "builds" = the two builds proper; "rest" = wall - builds: unpacking, Build-Depends, the rest):`);
    const row = (name: string, runs: readonly PairRun[]): string[] => {
      const w = median(runs.map((x) => x.wallS));
      const b = median(runs.map((x) => x.buildS[0] + x.buildS[1]));
      return [name, fmt(w, 1), fmt(b, 1), fmt(w - b, 1), fmt(w / handWall, 3), runs.every((x) => x.reproducible) ? 'yes' : 'no'];
    };
    console.log(
      table(
        ['pair', 'wall', 'builds', 'rest', 'vs by hand', 'same .debs'],
        [row('reprofarm build local1 local2', rfRuns), row('by hand (chroot-by-hand.sh 1; 2)', handRuns), row('sbuild --chroot-mode=unshare x 2', sbRuns)],
      ),
    );
    console.log(`(reprofarm prepares build 2 (unpack, Build-Depends) while build 1 runs; by hand and sbuild do everything in turn)`);
    console.log('\ngoals:');
    console.log(`  chroot make ${fmt(makeS, 1)} s, refresh ${fmt(remakeS, 1)} s, fresh check ${fmt(ups[2]?.m.wallS ?? NaN, 2)} s (informational)`);
    console.log(
      `  reprofarm's overhead per pair = ${fmt(overhead, 2)} s = ${fmt((100 * overhead) / handWall, 1)}% of the by-hand ${fmt(handWall, 1)} s ` +
        `(goals <= ${GOALS.overheadS} s and <= ${100 * GOALS.overheadShare}%)  ${verdict(overhead <= GOALS.overheadS && overhead <= GOALS.overheadShare * handWall)}`,
    );
    console.log(
      `  reprofarm ${fmt(rfWall, 1)} s vs sbuild x 2 ${fmt(sbWall, 1)} s: ratio ${fmt(rfWall / sbWall, 3)} (goal <= 1, no slower)  ${verdict(rfWall <= sbWall)}`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (process.env.REPROFARM_BENCH_KEEP === '1') console.log(`kept ${tmp}`);
    // the chroots' files belong to subuids: removed in a user namespace, as node-build.sh does
    else
      await runMeasured(`unshare --user --map-users=auto --map-groups=auto --map-root-user rm -rf -- ${shQuote(tmp)} 2>/dev/null || rm -rf -- ${shQuote(tmp)}`);
  }
}

// `npx tsx bench/chroot.ts`: this benchmark alone
await runIfMain('chroot', import.meta.url, run);
