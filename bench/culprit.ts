/**
 * Culprit benchmark (issue 18, point 6), side by side in one run on the
 * probe set of test/harness/probes.ts (one package per variation, two
 * culprits, random bytes, a parallel count seen only through arithmetic):
 *
 * (a) reprofarm: each probe built as a pair on two loopback sshd nodes
 *     (plain backend, every variation of the job's defaults), then the
 *     FTBRs' verdicts: from the hints when they settle it (no extra build),
 *     else `reprofarm culprit` (the search; culprit_searches.builds
 *     follow-up builds). Each verdict is checked against the probe's own.
 * (b) reprotest --auto-build (Debian's reprotest) on the same .dsc, its
 *     `null` runner on this machine, `--no-diffoscope` (its comparisons by
 *     diff: only the number of builds is compared) and its default
 *     variations (+all): the builds it made (its `build "NAME":` lines,
 *     3 + N for N variations when the package differs at all) and what it
 *     names.
 * (c) the time the hint search adds per FTBR: culprit/hints.ts
 *     hintsFromDiffoscope on the pair's diffoscope text report with the
 *     builds' recorded facts, its first call and the median of 9 more,
 *     against diffoscope's own time on the same two .changes (run again here
 *     with builder/compare.ts's options). Goal: under 10% of diffoscope's.
 *
 * $REPROFARM_BENCH_CULPRIT_PROBES (comma-separated names) runs a subset.
 * Needs root (the sshd harness), reprotest, diffoscope, faketime, disorderfs.
 * Everything is under /tmp/reprofarm-bench-culprit-*, removed at the end
 * ($REPROFARM_BENCH_KEEP=1 keeps it).
 */
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { hintsFromDiffoscope, type BuildFacts } from '../culprit/hints.js';
import { hostArch } from '../test/harness/debian-mirror.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../test/harness/mirror.js';
import { expectedVerdict, PROBES, runProbe, verdictText, type Probe, type ProbeFarm, type ProbeOutcome } from '../test/harness/probes.js';
import { startSshFarm, type SshFarm } from '../test/harness/sshd.js';
import { runCli } from '../test/helpers/cli.js';
import { buildDist, CheckFailed, fmt, machineInfo, median, runIfMain, runMeasured, shArgs, shQuote, table } from './lib.js';

const SUITE = 'bookworm';
const ARCH = hostArch();
const HINT_GOAL = 0.1;
const HINT_RUNS = 9;
/** what the plain backend cannot apply (node-variations.sh plain_only_variations) */
const PLAIN_NOT_APPLIED = new Set(['BUILD_USER', 'BINSH', 'FILEORDERING']);
/** reprotest's variations and the reprofarm ones each stands for */
const REPROTEST_KEYS: Readonly<Record<string, readonly string[]>> = {
  environment: ['CAPTURE_ENVIRONMENT'],
  build_path: ['BUILD_PATH'],
  kernel: ['KERNEL_PERSONALITY'],
  aslr: [],
  num_cpus: ['PARALLEL'],
  time: ['DATE'],
  user_group: ['BUILD_USER'],
  fileordering: ['FILEORDERING'],
  domain_host: ['HOSTNAME', 'DOMAINNAME'],
  home: ['HOME'],
  locales: ['LANG', 'LC_ALL', 'LANGUAGE'],
  exec_path: ['PATH'],
  timezone: ['TZ'],
  umask: ['UMASK'],
};

interface HintTime {
  firstMs: number;
  warmMs: number;
  diffoscopeS: number;
  reportKiB: number;
}

interface Reprotest {
  builds: number;
  verdict: string;
  /** reprofarm's keys for what it named */
  keys: string[];
  wallS: number;
}

interface Row {
  p: Probe;
  expected: string;
  o: ProbeOutcome;
  hint: HintTime | null;
  rt: Reprotest;
}

function selectedProbes(): Probe[] {
  const want = (process.env.REPROFARM_BENCH_CULPRIT_PROBES ?? '').split(',').filter(Boolean);
  const unknown = want.filter((n) => !PROBES.some((p) => p.name === n));
  if (unknown.length > 0) throw new CheckFailed(`unknown probe ${unknown.join(', ')}; known: ${PROBES.map((p) => p.name).join(', ')}`);
  return want.length > 0 ? PROBES.filter((p) => want.includes(p.name)) : [...PROBES];
}

/** Two sshd nodes, the probes' signed mirror, a plain-backend config: collected and synced. */
async function setUp(tmp: string, probes: readonly Probe[]): Promise<{ f: ProbeFarm; mirror: TestMirror; server: MirrorServer; farm: SshFarm }> {
  const mirror = await createTestMirror({ dir: tmp });
  await mirror.writeSuite({ suite: SUITE, packages: [...probes] });
  const server = await mirror.serve();
  const farm = await startSshFarm({ nodes: 2 });
  const stateDir = path.join(tmp, 'state');
  const config = path.join(tmp, 'reprofarm.yaml');
  await fs.writeFile(
    config,
    [
      '# reprofarm culprit benchmark: the plain backend, every variation, the default search budget',
      `state_dir: ${JSON.stringify(stateDir)}`,
      `mirror: ${server.url}`,
      `mirror_keyring: ${JSON.stringify(mirror.keyring)}`,
      `suites: [${SUITE}]`,
      `architectures: [${ARCH}]`,
      'schedule: { max_per_arch: 0 }',
      farm.nodesYaml(),
      'jobs:',
      '  bench_culprit: { nodes: [n01, n02] }',
      'culprit: { max_builds_per_package: 16 }',
      '',
    ].join('\n'),
  );
  for (const cmd of ['collect', 'sync']) {
    const r = await runCli(['--config', config, '--quiet', cmd]);
    if (r.code !== 0) throw new CheckFailed(`reprofarm ${cmd} exited ${String(r.code)}: ${r.stderr.slice(-2000)}`);
  }
  return { f: { config, stateDir, suite: SUITE, arch: ARCH, nodes: ['n01', 'n02'] }, mirror, server, farm };
}

/** The FTBR pair's report and facts, from the DB. */
function ftbrOf(f: ProbeFarm, pkg: string): { report: string; facts: [BuildFacts, BuildFacts]; version: string } | null {
  const db = new Database(path.join(f.stateDir, 'reproducible.db'), { readonly: true });
  try {
    const b = db
      .prepare("SELECT id, version, report FROM builds WHERE suite = ? AND arch = ? AND package = ? AND status = 'FTBR' ORDER BY id DESC LIMIT 1")
      .get(f.suite, f.arch, pkg) as { id: number; version: string; report: string | null } | undefined;
    if (!b?.report) return null;
    const runs = db
      .prepare('SELECT variations, not_applied, started_at, duration FROM build_runs WHERE build_id = ? ORDER BY build_number')
      .all(b.id) as Array<{
      variations: string;
      not_applied: string;
      started_at: string;
      duration: number;
    }>;
    const facts = runs.map((r) => ({
      variations: JSON.parse(r.variations) as Record<string, string>,
      notApplied: JSON.parse(r.not_applied) as Record<string, string>,
      startedAt: r.started_at,
      durationS: r.duration,
    }));
    if (facts.length !== 2) return null;
    const report = path.isAbsolute(b.report) ? b.report : path.join(f.stateDir, b.report);
    return { report: report.endsWith('.txt') ? report : `${report}.diffoscope.txt`, facts: facts as [BuildFacts, BuildFacts], version: b.version };
  } finally {
    db.close();
  }
}

/** The hint search's first call and warm median on the report, against diffoscope run again on the pair's two .changes. */
async function hintTime(f: ProbeFarm, pkg: string, tmp: string): Promise<HintTime | null> {
  const ftbr = ftbrOf(f, pkg);
  if (!ftbr) return null;
  const text = await fs.readFile(ftbr.report, 'utf8');
  const [b1, b2] = ftbr.facts;
  const once = (): number => {
    const t0 = performance.now();
    hintsFromDiffoscope(text, b1, b2);
    return performance.now() - t0;
  };
  const firstMs = once();
  const warmMs = median(Array.from({ length: HINT_RUNS }, once));
  const changes = f.nodes.map((n) => {
    const dir = path.join(f.stateDir, 'results', n, f.suite, f.arch, pkg, ftbr.version);
    const c = readdirSync(dir).find((x) => x.endsWith('.changes'));
    if (!c) throw new CheckFailed(`${pkg}: no .changes in ${dir}`);
    return path.join(dir, c);
  });
  const out = path.join(tmp, 'diffoscope', pkg);
  await fs.mkdir(path.dirname(out), { recursive: true });
  const args = ['diffoscope', '--text', `${out}.txt`, '--html', `${out}.html`, '--max-report-size', '20971520', '--max-text-report-size', '20971520'];
  const m = await runMeasured(shArgs([...args, '--no-progress', ...changes]));
  if (m.code !== 1) throw new CheckFailed(`${pkg}: diffoscope exited ${String(m.code)} (1: they differ): ${m.stderr.slice(-1000)}`);
  return { firstMs, warmMs, diffoscopeS: m.wallS, reportKiB: Buffer.byteLength(text) / 1024 };
}

/** reprotest --auto-build on the probe's .dsc (a copy of its pool folder): its builds and what it named. */
async function reprotest(mirror: TestMirror, p: Probe, tmp: string): Promise<Reprotest> {
  const dsc = mirror.dscPath(p.name, p.version);
  const dir = path.join(tmp, 'reprotest', p.name);
  await fs.cp(path.dirname(dsc), dir, { recursive: true });
  const m = await runMeasured(
    `cd ${shQuote(dir)} && reprotest --verbosity 1 --auto-build --no-diffoscope ${shQuote(path.basename(dsc))} -- null > reprotest.out 2> reprotest.err`,
  );
  const out = await fs.readFile(path.join(dir, 'reprotest.out'), 'utf8');
  const err = await fs.readFile(path.join(dir, 'reprotest.err'), 'utf8');
  const builds = new Set([...err.matchAll(/^INFO:reprotest:build "([^"]+)":/gm)].map((x) => x[1])).size;
  const named = /^Observed unreproducibility when varying each of the following:\n(.*)$/m.exec(out)?.[1]?.trim().split(/\s+/) ?? [];
  let verdict = named.length > 0 ? `varying ${named.join(', ')}` : '';
  if (/^Not reproducible, even when fixing/m.test(out)) verdict = 'not reproducible when fixing all';
  if (/^Reproducible, even when varying/m.test(out)) verdict = 'reproducible';
  if (!verdict) throw new CheckFailed(`${p.name}: reprotest exited ${String(m.code)} without a verdict:\n${err.slice(-1500)}`);
  return { builds, verdict, keys: named.flatMap((n) => REPROTEST_KEYS[n] ?? [n]).sort(), wallS: m.wallS };
}

/** One probe on both sides, printed as it ends. */
async function benchProbe(f: ProbeFarm, mirror: TestMirror, p: Probe, tmp: string): Promise<Row> {
  const expected = verdictText(expectedVerdict(p, PLAIN_NOT_APPLIED));
  const o = await runProbe(f, p);
  const hint = o.status === 'FTBR' ? await hintTime(f, p.name, tmp) : null;
  const rt = await reprotest(mirror, p, tmp);
  const ok = verdictText(o) === expected ? 'right' : 'WRONG';
  console.log(
    `  ${p.name.padEnd(24)} reprofarm ${verdictText(o)} (${o.source ?? o.status}, ${o.builds} builds, pair ${fmt(o.pairS, 1)} s, search ${fmt(o.searchS, 1)} s) ${ok}; ` +
      `reprotest ${rt.verdict} (${rt.builds} builds, ${fmt(rt.wallS, 1)} s)`,
  );
  return { p, expected, o, hint, rt };
}

function printTable(rows: readonly Row[]): void {
  console.log(
    table(
      [
        'probe',
        'expected',
        'reprofarm',
        'by',
        'extra builds',
        'reprotest names',
        'reprotest builds',
        'diffoscope s',
        'hints ms (1st/warm)',
        'hints/diffoscope',
      ],
      rows.map((r) => [
        r.p.name,
        r.expected,
        verdictText(r.o) === r.expected ? verdictText(r.o) : `WRONG: ${verdictText(r.o)}`,
        r.o.source ?? '-',
        String(r.o.builds),
        r.rt.keys.length > 0 ? r.rt.keys.join(',') : r.rt.verdict,
        String(r.rt.builds),
        r.hint ? fmt(r.hint.diffoscopeS, 2) : '-',
        r.hint ? `${fmt(r.hint.firstMs, 2)}/${fmt(r.hint.warmMs, 2)}` : '-',
        r.hint ? `${fmt((100 * r.hint.firstMs) / 1000 / r.hint.diffoscopeS, 2)}%` : '-',
      ]),
    ),
  );
}

/** The totals and ratios; the hint goal PASS/FAIL. */
function printTotals(rows: readonly Row[]): void {
  const ftbr = rows.filter((r) => r.o.status === 'FTBR');
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const rf = sum(ftbr.map((r) => r.o.builds));
  // reprotest's first two builds are the pair reprofarm's follow-ups come after
  const rt = sum(ftbr.map((r) => r.rt.builds - 2));
  const free = ftbr.filter((r) => r.o.builds === 0).length;
  console.log(`\n${ftbr.length} FTBR verdicts of ${rows.length} probes (the rest reproducible: a variation the plain backend does not apply)`);
  console.log(
    `  extra builds per verdict: reprofarm ${fmt(rf / ftbr.length, 2)} (${rf} in all), reprotest --auto-build ${fmt(rt / ftbr.length, 2)} (${rt}; its own total with the pair ${rt + 2 * ftbr.length})`,
  );
  console.log(`  ratio reprofarm / reprotest: ${fmt(rf / rt, 3)}; over all ${rows.length} probes reprotest built ${sum(rows.map((r) => r.rt.builds))} times`);
  console.log(`  verdicts with no extra build (hints): ${free} of ${ftbr.length} = ${fmt((100 * free) / ftbr.length, 1)}% (reprotest: 0%)`);
  const timed = ftbr.flatMap((r) => (r.hint ? [r.hint] : []));
  const ratios = timed.map((h) => h.firstMs / 1000 / h.diffoscopeS);
  const worst = Math.max(...ratios);
  console.log(
    `  hint search per FTBR: first call ${fmt(median(timed.map((h) => h.firstMs)), 2)} ms median, ${fmt(Math.max(...timed.map((h) => h.firstMs)), 2)} ms max; ` +
      `warm ${fmt(median(timed.map((h) => h.warmMs)), 3)} ms; diffoscope ${fmt(median(timed.map((h) => h.diffoscopeS)), 2)} s median`,
  );
  console.log(
    `  hints / diffoscope: median ${fmt(100 * median(ratios), 3)}%, worst ${fmt(100 * worst, 3)}%, all ${fmt((100 * sum(timed.map((h) => h.firstMs))) / 1000 / sum(timed.map((h) => h.diffoscopeS)), 3)}% ` +
      `(goal < ${100 * HINT_GOAL}% for every FTBR)  ${timed.length > 0 && worst < HINT_GOAL ? 'PASS' : 'FAIL'}`,
  );
}

export async function run(): Promise<void> {
  console.log('== culprit: the verdicts of the probe set, reprofarm (hints, then the search) vs reprotest --auto-build ==');
  for (const [k, v] of machineInfo()) console.log(`${k.padEnd(7)} ${v}`);
  if (process.getuid?.() !== 0) throw new CheckFailed('run as root (the sshd harness creates the node user and runs sshd; reprotest null as root)');
  for (const tool of ['reprotest', 'diffoscope', 'faketime', 'disorderfs']) {
    if ((await runMeasured(`command -v ${tool} >/dev/null`)).code !== 0) throw new CheckFailed(`${tool} is missing (apt-get install ${tool})`);
  }
  const probes = selectedProbes();
  console.log(`built   dist/ with npm run build in ${fmt(buildDist(), 1)} s`);
  const tmp = await fs.mkdtemp('/tmp/reprofarm-bench-culprit-');
  await fs.chmod(tmp, 0o755);
  let set: Awaited<ReturnType<typeof setUp>> | undefined;
  try {
    const t0 = performance.now();
    set = await setUp(tmp, probes);
    console.log(
      `farm    two sshd nodes, ${probes.length} probes in a signed loopback mirror, collected and synced in ${fmt((performance.now() - t0) / 1000, 1)} s`,
    );
    console.log('\neach probe: the reprofarm pair and its verdict, then reprotest --auto-build:');
    const rows: Row[] = [];
    for (const p of probes) rows.push(await benchProbe(set.f, set.mirror, p, tmp));
    console.log('');
    printTable(rows);
    printTotals(rows);
    const wrong = rows.filter((r) => verdictText(r.o) !== r.expected);
    if (wrong.length > 0)
      throw new CheckFailed(`wrong verdicts: ${wrong.map((r) => `${r.p.name} ${verdictText(r.o)} (expected ${r.expected}; ${r.o.why ?? ''})`).join('; ')}`);
  } finally {
    await set?.server.close();
    await set?.farm.stop();
    await set?.mirror.cleanup();
    if (process.env.REPROFARM_BENCH_KEEP === '1') console.log(`kept ${tmp}`);
    else if (existsSync(tmp)) await fs.rm(tmp, { recursive: true, force: true });
  }
}

// `npx tsx bench/culprit.ts`: this benchmark alone
await runIfMain('culprit', import.meta.url, run);
