/**
 * The culprit probes (issue 18, point 5), shared by
 * test/integration/culprit-probes.test.ts and bench/culprit.ts: one source
 * package per variation of core/protocol.ts, each writing into its .deb
 * something that depends on that variation alone, plus one with two
 * culprits, one that differs whatever the environment (random bytes) and one
 * whose difference carries no marker (the parallel count only through
 * arithmetic). Each probe knows the verdict it should get, given the
 * variations a backend could not apply (the status file's NOT_APPLIED).
 *
 * A build script runs with `sh -e` in the unpacked tree (test/harness/
 * mirror.ts); what it writes under build/ ends up in the .deb. The package's
 * rules file normalises modes (as dh_fixperms does), so UMASK is recorded as
 * text; the date is read in UTC, as a year (TZ alone changes the day, and a
 * time of day changes between any two builds).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VARIATIONS } from '../../core/protocol.js';
import { runCli } from '../helpers/cli.js';
import type { SourcePackageSpec } from './mirror.js';

export type ProbeVerdict = 'reproducible' | 'culprits' | 'nondeterministic';

export interface Probe extends SourcePackageSpec {
  /** what it captures: a variation key, or two, or none (random bytes) */
  captures: readonly string[];
  /** `nondeterministic` for random bytes; else the captured variations are its culprits */
  kind: 'variation' | 'two' | 'random' | 'arithmetic';
}

export interface Expected {
  verdict: ProbeVerdict;
  culprits: string[];
}

/** The parallel count of DEB_BUILD_OPTIONS, as a shell assignment. */
const JOBS = `n=$(printf '%s\\n' "$DEB_BUILD_OPTIONS" | sed -n 's/.*parallel=\\([0-9]*\\).*/\\1/p')`;

/** Each variation's probe script: what the build writes, depending on that variation only. */
const SCRIPTS: Readonly<Record<string, string>> = {
  // Etc/ zones have no summer time: the offset is the zone's alone
  // a fixed instant in the build's zone (RFC 2822, English whatever the locale): the zone alone
  TZ: 'date -d @0 -R > build/epoch.txt',
  // +398 days is always another year; in UTC the zone cannot move it
  DATE: 'date -u +%Y > build/year.txt',
  // LC_ALL overrides LANG for programs: the variable itself, not a locale's output
  LANG: 'echo "LANG=$LANG" > build/lang.txt',
  LC_ALL: 'echo "LC_ALL=${LC_ALL:-}" > build/lc-all.txt',
  LANGUAGE: 'echo "LANGUAGE=${LANGUAGE:-}" > build/language.txt',
  TERM: 'echo "TERM=${TERM:-}" > build/term.txt',
  COLUMNS: 'echo "COLUMNS=${COLUMNS:-}" > build/columns.txt',
  // the package's files get fixed modes: the mode of a file made here, as text
  UMASK: 'touch made-here && stat -c %a made-here > build/mode.txt',
  HOME: 'echo "$HOME" > build/home.txt',
  PATH: 'echo "$PATH" > build/path.txt',
  CAPTURE_ENVIRONMENT: 'echo "${CAPTURE_ENVIRONMENT:-}" > build/environment.txt',
  HOSTNAME: 'cat /proc/sys/kernel/hostname > build/host.txt',
  DOMAINNAME: 'cat /proc/sys/kernel/domainname > build/domain.txt',
  PARALLEL: `${JOBS}; echo "MAKEFLAGS=-j$n" > build/jobs.txt`,
  BUILD_USER: 'id -un > build/user.txt',
  BINSH: 'readlink /bin/sh > build/binsh.txt',
  NICE: 'nice > build/nice.txt',
  NOCHECK: 'case " $DEB_BUILD_OPTIONS " in *" nocheck "*) echo "tests: skipped (nocheck)" ;; *) echo "tests: ran" ;; esac > build/tests.txt',
  // the whole release: both nodes of a test farm run one kernel
  KERNEL_PERSONALITY: 'uname -r > build/kernel.txt',
  // a folder read in the order the file system gives
  FILEORDERING: 'mkdir order && for i in $(seq 1 40); do : > order/f$i; done && ls -f order > build/order.txt',
  BUILD_PATH: 'pwd > build/pwd.txt',
};

/** A package name for a variation key: rfp-build-path for BUILD_PATH. */
export const probeName = (key: string): string => `rfp-${key.toLowerCase().replace(/_/g, '-')}`;

export const VERSION = '1.0';

function variationProbes(): Probe[] {
  return VARIATIONS.map((v) => {
    const script = SCRIPTS[v.key];
    if (!script) throw new Error(`probes: no probe script for variation ${v.key} (core/protocol.ts has it)`);
    return { name: probeName(v.key), version: VERSION, buildScript: script, captures: [v.key], kind: 'variation' };
  });
}

/** Every probe, in the variation table's order, then the three others. */
export const PROBES: readonly Probe[] = [
  ...variationProbes(),
  // two culprits, neither with a marker (an offset alone, a mode): the search must find both
  { name: 'rfp-two', version: VERSION, buildScript: `date +%z > build/offset.txt\n${SCRIPTS.UMASK}`, captures: ['TZ', 'UMASK'], kind: 'two' },
  { name: 'rfp-random', version: VERSION, buildScript: 'head -c 16 /dev/urandom | od -An -tx1 > build/random.txt', captures: [], kind: 'random' },
  // the parallel count only through arithmetic: no value of either build in the package
  { name: 'rfp-arithmetic', version: VERSION, buildScript: `${JOBS}; echo $(( n * 7 + 3 )) > build/weight.txt`, captures: ['PARALLEL'], kind: 'arithmetic' },
];

export function probe(name: string): Probe {
  const p = PROBES.find((x) => x.name === name);
  if (!p) throw new Error(`probes: no probe ${name}`);
  return p;
}

/**
 * The verdict a probe should get on a backend that could not apply
 * `notApplied`: a variation it did not apply varied nothing, so a probe of it
 * alone is reproducible; random bytes are nondeterministic; else its
 * captured variations (those applied) are the culprits.
 */
export function expectedVerdict(p: Probe, notApplied: ReadonlySet<string>): Expected {
  if (p.kind === 'random') return { verdict: 'nondeterministic', culprits: [] };
  const culprits = p.captures.filter((k) => !notApplied.has(k)).sort();
  return culprits.length > 0 ? { verdict: 'culprits', culprits } : { verdict: 'reproducible', culprits: [] };
}

/** A verdict as one word or list, for tables and test names: "culprits TZ, UMASK", "reproducible". */
export function verdictText(v: { verdict: string | null; culprits: readonly string[] }): string {
  return v.verdict === 'culprits' ? `culprits ${v.culprits.join(', ')}` : (v.verdict ?? 'none');
}

// ---------------------------------------------------------------- running a probe on a farm

/** How a probe came out on a farm: the pair's status, then the farm's verdict and the follow-up builds it took. */
export interface ProbeOutcome {
  probe: string;
  status: string;
  verdict: string | null;
  culprits: string[];
  /** hints (no follow-up build) or search */
  source: 'hints' | 'search' | null;
  builds: number;
  why: string | null;
  /** the variations build 2 could not apply, by its status file */
  notApplied: string[];
  /** the pair's wall time and the search's, seconds */
  pairS: number;
  searchS: number;
}

export interface ProbeFarm {
  config: string;
  stateDir: string;
  suite: string;
  arch: string;
  nodes: readonly [string, string];
  /** a job whose pair runs the search steps, when not the FTBR's own */
  job?: string;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cli = (f: ProbeFarm, ...args: string[]): Promise<CliRun> => runCli(['--config', f.config, ...args]);

function must(r: CliRun, what: string): CliRun {
  if (r.code !== 0) throw new Error(`${what} exited ${String(r.code)}: ${r.stderr.slice(-2000)}`);
  return r;
}

/** Build the probe as a pair; when FTBR, the verdict the hints gave, else the search's (reprofarm culprit). */
export async function runProbe(f: ProbeFarm, p: Probe): Promise<ProbeOutcome> {
  must(await cli(f, 'schedule', f.suite, f.arch, p.name), `reprofarm schedule ${p.name}`);
  const t0 = performance.now();
  const b = must(await cli(f, '--json', 'build', ...f.nodes), `reprofarm build (${p.name})`);
  const pairS = (performance.now() - t0) / 1000;
  const status = (JSON.parse(b.stdout) as { status?: string }).status ?? `no status: ${b.stdout}`;
  const db = new Database(join(f.stateDir, 'reproducible.db'), { readonly: true });
  const base = { probe: p.name, status, notApplied: notApplied2(db, f, p.name), pairS, searchS: 0 };
  const row = db
    .prepare('SELECT state, verdict, culprits, source, builds, why FROM culprit_searches WHERE suite = ? AND arch = ? AND package = ?')
    .get(f.suite, f.arch, p.name) as
    { state: string; verdict: string | null; culprits: string; source: 'hints' | 'search' | null; builds: number; why: string | null } | undefined;
  db.close();
  if (status !== 'FTBR') return { ...base, verdict: status === 'reproducible' ? 'reproducible' : null, culprits: [], source: null, builds: 0, why: null };
  if (row?.state === 'done')
    return { ...base, verdict: row.verdict, culprits: JSON.parse(row.culprits) as string[], source: row.source, builds: row.builds, why: row.why };
  const t1 = performance.now();
  const c = await cli(f, '--json', 'culprit', f.suite, f.arch, p.name, ...(f.job ? ['--job', f.job] : []));
  const v = JSON.parse(c.stdout || '{}') as { verdict?: string | null; culprits?: string[]; builds?: number; why?: string | null };
  return {
    ...base,
    verdict: v.verdict ?? null,
    culprits: v.culprits ?? [],
    source: 'search',
    builds: v.builds ?? 0,
    why: v.why ?? c.stderr.slice(-500),
    searchS: (performance.now() - t1) / 1000,
  };
}

/** The variation keys build 2 of the package's latest pair did not apply. */
function notApplied2(db: Database.Database, f: ProbeFarm, pkg: string): string[] {
  const r = db
    .prepare(
      'SELECT r.not_applied AS na FROM build_runs r JOIN builds b ON b.id = r.build_id WHERE b.suite = ? AND b.arch = ? AND b.package = ? AND r.build_number = 2 ORDER BY b.id DESC LIMIT 1',
    )
    .get(f.suite, f.arch, pkg) as { na: string } | undefined;
  const keys = new Set(VARIATIONS.map((v) => v.key));
  return Object.keys(JSON.parse(r?.na ?? '{}') as Record<string, string>)
    .filter((k) => keys.has(k))
    .sort();
}
