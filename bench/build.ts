/**
 * Build benchmark: the orchestration overhead of one `reprofarm build n1 n2`
 * over loopback sshd, with a trivial build backend, and how it grows with the
 * size of the artifacts.
 *
 * Set-up: two sshd nodes (test/harness/sshd.ts), a signed test mirror served
 * over HTTP (test/harness/mirror.ts) holding one source package per run
 * (tiny-N, mb1-N, mb100-N), `schedule.max_per_arch: 0` so only what the
 * benchmark schedules by hand is built. The build command is a shell script
 * (not a real package build) that writes NAME_VERSION_amd64.deb of 1 KiB,
 * 1 MiB or 100 MiB (chosen by the name's prefix; the bytes are the start of
 * one fixed AES-CTR stream, so they do not compress and both builds make the
 * same file), a .buildinfo and a .changes naming both: every run must be
 * `reproducible` without diffoscope.
 *
 * Per run: `reprofarm schedule bookworm amd64 PKG`, then
 * `node bin/reprofarm.js --config CFG --json --verbose build n1 n2` as one
 * measured process tree: wall time, main-side CPU (the `times` method of
 * lib.ts), and the time each --verbose line arrived on stderr (claimed, build
 * 1 start/done, build 2 start/done, recorded), which splits the wall time into
 * phases. The two build commands' own time is BUILD_COMMAND_MS from each
 * build's status file (node-build.sh measures it around the command, fetched
 * to <state>/results/NODE/...). Overhead = wall - (command 1 + command 2).
 *
 * Baselines: reprofarm's SSH transport on its own (connect, one `exec true`,
 * SFTP put/get of 300 bytes, 1 MiB and 100 MiB) and the two SHA256 passes a
 * fetched artifact gets (the node's sha256sum, the main side's check); the
 * same CLI with nothing scheduled (node start-up, config, DB, an empty claim:
 * no ssh); and a first build that installs node-build.sh on the nodes (not
 * counted). Then, on two more nodes whose sshd runs every
 * command through a ForceCommand wrapper that logs it with start and end
 * times, one profiled build per size: every ssh round trip with its node-side
 * time, so the overhead can be split into main side, node side and transfer.
 *
 * Checks (a failure throws): exit 0, JSON outcome `recorded` with status
 * `reproducible` for the package scheduled, both result directories hold the
 * .deb with the right size and SHA256 and a status file with EXIT_CODE=0 and
 * BUILD_COMMAND_MS. Goal (MISS only): tiny-artifact overhead < 1 s; the 1 MiB
 * and 100 MiB figures are informational. Last, bench/attest.ts: what signing
 * adds per recorded result (goal < 5 ms) and a user's verify of a .deb (< 0.3 s).
 *
 * Last, the way a farm runs builds: `reprofarm worker bench_build` with six
 * tiny packages scheduled, one long-running process that keeps the pair's
 * SSH connections from one build to the next. After the first build, the time
 * between two builds' log lines is one build's wall time there; its overhead
 * (minus the two commands) is the second figure the goal is checked against.
 *
 * $REPROFARM_BENCH_BUILD_RUNS="5,3,3" sets the runs per size (tiny, 1 MiB, 100 MiB).
 */
import { attestFigures } from './attest.js';
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeConfig } from '../core/config.js';
import { connectSsh } from '../core/ssh-transport.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../test/harness/mirror.js';
import { SSHD, startSshFarm, type SshFarm } from '../test/harness/sshd.js';
import {
  buildDist,
  CheckFailed,
  envInts,
  fmt,
  machineCpuSeconds,
  machineInfo,
  type Measured,
  median,
  parseTimes,
  ROOT,
  runIfMain,
  shArgs,
  table,
} from './lib.js';

const SUITE = 'bookworm';
const ARCH = 'amd64';
const VERSION = '1.0';
const CLI = path.join(ROOT, 'bin', 'reprofarm.js');
const MiB = 2 ** 20;

interface Size {
  key: 'tiny' | 'mb1' | 'mb100';
  label: string;
  bytes: number;
  runs: number;
}

const RUNS = envInts('REPROFARM_BENCH_BUILD_RUNS', [5, 3, 3], 0, 100);
const SIZES: readonly Size[] = [
  { key: 'tiny', label: '1 KiB', bytes: 1024, runs: RUNS[0] ?? 5 },
  { key: 'mb1', label: '1 MiB', bytes: MiB, runs: RUNS[1] ?? 3 },
  { key: 'mb100', label: '100 MiB', bytes: 100 * MiB, runs: RUNS[2] ?? 3 },
];
const IDLE_RUNS = 3;

const GOALS = { tinyOverheadS: 1 };

function tail(text: string, lines = 20): string {
  const t = text.trim();
  if (!t) return '(empty)';
  return t.split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------
// The trivial build backend and the profiling wrapper (both run on the nodes)
// ---------------------------------------------------------------------------

/**
 * `sh trivial-build.sh BLOB`, run by node-build.sh in the unpacked source
 * tree: the artifacts a real build leaves in `..`, with no build at all.
 */
const TRIVIAL_BUILD_SH = `#!/bin/sh
# reprofarm build benchmark: a trivial build backend. Run in the unpacked
# source tree; writes ../NAME_VERSION_amd64.{deb,buildinfo,changes}, the .deb
# being the first SIZE bytes of BLOB, SIZE chosen by the source name's prefix.
set -eu
blob=$1
IFS= read -r first < debian/changelog
name=\${first%% *}
version=\${first#*(}
version=\${version%%)*}
case $name in
	tiny-*) size=1024 ;;
	mb1-*) size=1048576 ;;
	mb100-*) size=104857600 ;;
	*) echo "trivial-build: no size for $name" >&2; exit 1 ;;
esac
v=\${version#*:}
deb=\${name}_\${v}_amd64.deb
bi=\${name}_\${v}_amd64.buildinfo
ch=\${name}_\${v}_amd64.changes
head -c "$size" "$blob" > "../$deb"
[ "$(wc -c < "../$deb")" -eq "$size" ] || { echo "trivial-build: $blob is too short" >&2; exit 1; }
printf 'Format: 1.0\\nSource: %s\\nBinary: %s\\nArchitecture: amd64\\nVersion: %s\\nInstalled-Build-Depends:\\n base-files (= 12.4+deb12u1),\\n dpkg-dev (= 1.21.22)\\n' \\
	"$name" "$name" "$version" > "../$bi"
line() { # FILE -> "sha256 size md5"
	s=$(sha256sum < "../$1") m=$(md5sum < "../$1") n=$(wc -c < "../$1")
	echo "\${s%% *} $n \${m%% *}"
}
set -- $(line "$deb") $(line "$bi")
{
	printf 'Format: 1.8\\nSource: %s\\nBinary: %s\\nArchitecture: amd64\\nVersion: %s\\nDistribution: unstable\\n' "$name" "$name" "$version"
	printf 'Checksums-Sha256:\\n %s %s %s\\n %s %s %s\\n' "$1" "$2" "$deb" "$4" "$5" "$bi"
	printf 'Files:\\n %s %s misc optional %s\\n %s %s misc optional %s\\n' "$3" "$2" "$deb" "$6" "$5" "$bi"
} > "../$ch"
`;

/** ForceCommand of the profiled nodes: every command with its start and end (ns since the epoch). */
function wrapperSh(log: string): string {
  return `#!/bin/sh
log=${log}
case "$SSH_ORIGINAL_COMMAND" in
	internal-sftp|*sftp-server) printf '%s - - sftp\\n' "$(date +%s%N)" >> "$log"; exec /usr/lib/openssh/sftp-server ;;
esac
t0=$(date +%s%N)
sh -c "$SSH_ORIGINAL_COMMAND"
rc=$?
t1=$(date +%s%N)
printf '%s %s %s %s\\n' "$t0" "$t1" "$rc" "$SSH_ORIGINAL_COMMAND" >> "$log"
exit $rc
`;
}

/** `bytes` of one fixed AES-128-CTR keystream: deterministic, incompressible. */
async function writeBlob(file: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), Buffer.alloc(16, 0));
  const handle = await fs.open(file, 'w', 0o644);
  try {
    const zeros = Buffer.alloc(4 * MiB);
    for (let done = 0; done < bytes; done += zeros.length) await handle.write(cipher.update(zeros.subarray(0, Math.min(zeros.length, bytes - done))));
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------

interface TimedRun extends Measured {
  /** epoch ms when the process was spawned */
  spawnedAtMs: number;
  /** every stderr line with the time it arrived, seconds after the spawn */
  lines: Array<{ atS: number; text: string }>;
}

/**
 * Like lib.ts' runMeasured (one process tree, `times` on fd 3), but each
 * stderr line is stamped with its arrival time: the CLI writes its --verbose
 * progress to a pipe synchronously, so the stamps are the events' times.
 */
function runTimed(argv: readonly string[]): Promise<TimedRun> {
  const wrapped = `(\n${shArgs(argv)}\n)\nst=$?\ntimes >&3\nexit $st\n`;
  return new Promise<TimedRun>((resolve, reject) => {
    const cpu0 = machineCpuSeconds();
    const t0 = performance.now();
    const spawnedAtMs = performance.timeOrigin + t0;
    const child = spawn('/bin/sh', ['-c', wrapped], { cwd: ROOT, env: { ...process.env, REPROFARM_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const times: Buffer[] = [];
    const lines: Array<{ atS: number; text: string }> = [];
    let partial = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      const atS = (performance.now() - t0) / 1000;
      stderr += c;
      const parts = (partial + c).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ atS, text });
    });
    const fd3 = child.stdio[3];
    if (!fd3 || !('on' in fd3)) {
      reject(new Error('internal: no fd 3 pipe'));
      return;
    }
    fd3.on('data', (c: Buffer) => times.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const wallS = (performance.now() - t0) / 1000;
      const machineCpuS = machineCpuSeconds() - cpu0;
      if (partial) lines.push({ atS: wallS, text: partial });
      const stdout = Buffer.concat(out).toString('utf8');
      let cpu: { userS: number; sysS: number };
      try {
        cpu = parseTimes(Buffer.concat(times).toString('utf8'));
      } catch (e) {
        reject(new Error(`${(e as Error).message}\n(exit ${code ?? signal}; stderr: ${stderr.trim().slice(-2000)})`));
        return;
      }
      resolve({ wallS, ...cpu, cpuS: cpu.userS + cpu.sysS, machineCpuS, code, signal, stdout, stderr, spawnedAtMs, lines });
    });
  });
}

const WORKER_BUILDS = 6;

/**
 * `reprofarm worker bench_build` with `pkgs` scheduled: the arrival time of
 * each build's log line; after the first, the time between two lines is one
 * build's wall time in a long-running worker (no start-up; the connections
 * kept). Checks every build reproducible with its status files. SIGTERM once
 * all are done.
 */
async function workerRuns(
  config: string,
  stateDir: string,
  pkgs: readonly string[],
): Promise<{ firstS: number; steady: Array<{ pkg: string; wallS: number; cmdS: number }> }> {
  for (const p of pkgs) await cli(config, ['schedule', SUITE, ARCH, p]);
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, '--config', config, 'worker', 'bench_build'], {
    cwd: ROOT,
    env: { ...process.env, REPROFARM_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const seen: Array<{ pkg: string; atS: number; status: string }> = [];
  let err = '';
  let partial = '';
  const all = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        const m = /build job=bench_build package=(\S+) .*status=(\S+)/.exec(line);
        if (m?.[1] && m[2]) seen.push({ pkg: m[1], atS: (performance.now() - t0) / 1000, status: m[2] });
        if (/^(?:<\d>)?(?:error|requeued|skipped) /.test(line)) reject(new CheckFailed(`reprofarm worker: ${line}\n--- stderr:\n${tail(err)}`));
      }
      if (seen.length >= pkgs.length) resolve();
    });
    child.once('close', (code) =>
      reject(new CheckFailed(`reprofarm worker exited (${code}) after ${seen.length} of ${pkgs.length} builds\n--- stderr:\n${tail(err)}`)),
    );
    setTimeout(() => reject(new CheckFailed(`reprofarm worker: ${seen.length} of ${pkgs.length} builds in 300 s\n--- stderr:\n${tail(err)}`)), 300_000).unref();
  });
  try {
    await all;
  } finally {
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await closed;
  }
  const problems = seen.filter((x) => x.status !== 'reproducible').map((x) => `${x.pkg}: status ${x.status}`);
  const cmdS = async (pkg: string): Promise<number> => {
    let sum = 0;
    for (const node of ['n1', 'n2']) {
      const ms = parseStatus(await fs.readFile(path.join(stateDir, 'results', node, SUITE, ARCH, pkg, VERSION, 'status'), 'utf8').catch(() => '')).get(
        'BUILD_COMMAND_MS',
      );
      if (ms === undefined || !/^\d+$/.test(ms)) problems.push(`${pkg} on ${node}: no BUILD_COMMAND_MS`);
      sum += Number(ms) / 1000;
    }
    return sum;
  };
  const steady: Array<{ pkg: string; wallS: number; cmdS: number }> = [];
  for (let i = 1; i < seen.length; i++) {
    const cur = seen[i];
    const prev = seen[i - 1];
    if (cur && prev) steady.push({ pkg: cur.pkg, wallS: cur.atS - prev.atS, cmdS: await cmdS(cur.pkg) });
  }
  if (problems.length > 0) throw new CheckFailed(`reprofarm worker:\n  ${problems.join('\n  ')}`);
  return { firstS: seen[0]?.atS ?? NaN, steady };
}

/** An unmeasured CLI call (sync, schedule); throws unless it exits 0. */
function cli(config: string, args: readonly string[]): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--config', config, ...args], {
      cwd: ROOT,
      env: { ...process.env, REPROFARM_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new CheckFailed(`reprofarm ${args.join(' ')} exited with ${code ?? signal}\n--- stderr:\n${tail(err)}`));
    });
  });
}

// ---------------------------------------------------------------------------
// One build run: measure, check, split into phases
// ---------------------------------------------------------------------------

interface Phases {
  /** spawn -> "claimed" line: node start-up, config, DB, the claim */
  startS: number;
  /** claimed -> build 1 start: .dsc from the mirror, connecting to both nodes, what precedes node-build.sh on node 1 */
  prep1S: number;
  /** build 1 start -> done: node-build.sh (incl. the command), fetching the results, rm */
  build1S: number;
  /** build 1 done -> build 2 start: what precedes node-build.sh on node 2 */
  prep2S: number;
  build2S: number;
  /** build 2 done -> recorded: compare, record */
  recordS: number;
  /** recorded -> process exit: JSON, closing connections and the DB */
  exitS: number;
}

interface BuildRun {
  size: Size;
  pkg: string;
  nodes: [string, string];
  m: TimedRun;
  cmd1S: number;
  cmd2S: number;
  overheadS: number;
  phases: Phases;
}

interface BuildJson {
  outcome: string;
  package?: string;
  version?: string;
  status?: string | null;
  reason?: string | null;
}

function parseStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

function phasesOf(m: TimedRun, what: string): Phases {
  const at = (re: RegExp, name: string): number => {
    const l = m.lines.find((x) => re.test(x.text));
    if (!l) throw new CheckFailed(`${what}: no "${name}" line in the --verbose output:\n${tail(m.stderr)}`);
    return l.atS;
  };
  const claimed = at(/: claimed by /, 'claimed');
  const start1 = at(/^ {2}build 1 on \S+\.\.\.$/, 'build 1 on NODE...');
  const done1 = at(/^ {2}build 1 on \S+: built in /, 'build 1 on NODE: built');
  const start2 = at(/^ {2}build 2 on \S+\.\.\.$/, 'build 2 on NODE...');
  const done2 = at(/^ {2}build 2 on \S+: built in /, 'build 2 on NODE: built');
  const recorded = at(/: reproducible in [\d.]+ s$/, 'PKG: reproducible');
  return {
    startS: claimed,
    prep1S: start1 - claimed,
    build1S: done1 - start1,
    prep2S: start2 - done1,
    build2S: done2 - start2,
    recordS: recorded - done2,
    exitS: m.wallS - recorded,
  };
}

const expectedSha = new Map<number, string>();

async function buildOnce(opts: { config: string; stateDir: string; blob: string; size: Size; pkg: string; nodes: [string, string] }): Promise<BuildRun> {
  const { config, stateDir, size, pkg, nodes } = opts;
  const what = `${pkg} on ${nodes.join('+')}`;
  await cli(config, ['schedule', SUITE, ARCH, pkg]);
  const m = await runTimed([process.execPath, CLI, '--config', config, '--json', '--verbose', 'build', ...nodes]);
  if (m.code !== 0) {
    throw new CheckFailed(
      `${what}: reprofarm build exited with ${m.code === null ? `signal ${m.signal}` : `code ${m.code}`}\n--- stderr:\n${tail(m.stderr)}\n--- stdout:\n${tail(m.stdout)}`,
    );
  }
  let out: BuildJson;
  try {
    out = JSON.parse(m.stdout) as BuildJson;
  } catch {
    throw new CheckFailed(`${what}: stdout is not JSON:\n${tail(m.stdout)}`);
  }
  const problems: string[] = [];
  if (out.outcome !== 'recorded') problems.push(`outcome is ${out.outcome}, expected recorded`);
  if (out.package !== pkg || out.version !== VERSION) problems.push(`built ${out.package} ${out.version}, expected ${pkg} ${VERSION}`);
  if (out.status !== 'reproducible') problems.push(`status is ${out.status}${out.reason ? ` (${out.reason})` : ''}, expected reproducible`);
  let want = expectedSha.get(size.bytes);
  if (want === undefined) {
    const h = createHash('sha256');
    const fh = await fs.open(opts.blob, 'r');
    try {
      const buf = Buffer.alloc(size.bytes);
      const { bytesRead } = await fh.read(buf, 0, size.bytes, 0);
      h.update(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
    want = h.digest('hex');
    expectedSha.set(size.bytes, want);
  }
  const cmd: number[] = [];
  for (const node of nodes) {
    const dir = path.join(stateDir, 'results', node, SUITE, ARCH, pkg, VERSION);
    const deb = path.join(dir, `${pkg}_${VERSION}_${ARCH}.deb`);
    const st = await fs.stat(deb).catch(() => undefined);
    if (!st) {
      problems.push(`${deb} is missing`);
    } else if (st.size !== size.bytes) {
      problems.push(`${deb} has ${st.size} bytes, expected ${size.bytes}`);
    } else {
      const got = createHash('sha256')
        .update(await fs.readFile(deb))
        .digest('hex');
      if (got !== want) problems.push(`${deb} has SHA256 ${got}, expected ${want} (the blob's first ${size.bytes} bytes)`);
    }
    const statusFile = path.join(dir, 'status');
    const status = parseStatus(await fs.readFile(statusFile, 'utf8').catch(() => ''));
    const ms = status.get('BUILD_COMMAND_MS');
    if (status.get('EXIT_CODE') !== '0') problems.push(`${statusFile}: EXIT_CODE=${status.get('EXIT_CODE') ?? '(missing)'}, expected 0`);
    if (ms === undefined || !/^\d+$/.test(ms)) problems.push(`${statusFile}: no BUILD_COMMAND_MS (got ${ms ?? 'nothing'})`);
    cmd.push(Number(ms) / 1000);
  }
  if (problems.length > 0) throw new CheckFailed(`${what}:\n  ${problems.join('\n  ')}\n--- stderr:\n${tail(m.stderr, 12)}`);
  const [cmd1S = NaN, cmd2S = NaN] = cmd;
  // the 100 MiB results are checked: keep the disk use flat
  if (size.bytes >= 10 * MiB) {
    for (const node of nodes) await fs.rm(path.join(stateDir, 'results', node, SUITE, ARCH, pkg), { recursive: true, force: true });
  }
  return { size, pkg, nodes, m, cmd1S, cmd2S, overheadS: m.wallS - cmd1S - cmd2S, phases: phasesOf(m, what) };
}

function runLine(label: string, r: BuildRun): string {
  const p = r.phases;
  return (
    `  ${label.padEnd(16)} ${r.pkg.padEnd(10)} wall ${fmt(r.m.wallS).padStart(6)} s  commands ${fmt(r.cmd1S, 3)} + ${fmt(r.cmd2S, 3)} s  ` +
    `overhead ${fmt(r.overheadS).padStart(6)} s  main CPU ${fmt(r.m.cpuS)} s  | start ${fmt(p.startS)} prep1 ${fmt(p.prep1S)} ` +
    `build1 ${fmt(p.build1S)} prep2 ${fmt(p.prep2S)} build2 ${fmt(p.build2S)} record ${fmt(p.recordS)} exit ${fmt(p.exitS)}`
  );
}

// ---------------------------------------------------------------------------
// The profile: every ssh round trip of one build, from the nodes' wrapper logs
// ---------------------------------------------------------------------------

interface NodeCommand {
  node: string;
  startMs: number;
  endMs: number | null;
  rc: string;
  command: string;
}

async function readWrapperLog(node: string, file: string): Promise<NodeCommand[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const out: NodeCommand[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    out.push({ node, startMs: Number(m[1]) / 1e6, endMs: m[2] === '-' ? null : Number(m[2]) / 1e6, rc: m[3] ?? '', command: m[4] ?? '' });
  }
  return out;
}

function shortCommand(c: string): string {
  const s = c.replace(/\/\S*\/workdir\//g, 'W/').replace(/REPROFARM_\w+=\S+ /g, '');
  return s.length > 90 ? `${s.slice(0, 87)}...` : s;
}

interface ProfileSummary {
  size: Size;
  run: BuildRun;
  execs: number;
  sftpSessions: number;
  nodeBuildS: [number, number];
  /** node-build.sh's own time: its exec minus the command (build 2: resume2 only) */
  scriptS: [number, number];
  /** node-build.sh prepare2 on node 2, while build 1 ran (off the critical path) */
  prepare2S: number;
  /** after node-build.sh until "build N done": SHA256SUMS, the gets, rm, reading status */
  fetchS: [number, number];
  /** the other execs (sha256sum of the script, mkdir, mv, cat, rm) */
  smallExecS: number;
  smallExecs: number;
}

function profile(run: BuildRun, cmds: NodeCommand[], print: boolean): ProfileSummary {
  const rel = (ms: number): number => (ms - run.m.spawnedAtMs) / 1000;
  const events = run.m.lines.filter((l) => /: claimed by |^ {2}build [12] on |: reproducible in /.test(l.text));
  const rows: Array<{ atS: number; text: string }> = [
    ...events.map((e) => ({ atS: e.atS, text: `main  ${e.text.trim()}` })),
    ...cmds.map((c) => ({
      atS: rel(c.startMs),
      text:
        c.endMs === null
          ? `${c.node.padEnd(4)}  sftp session (sftp-server started)`
          : `${c.node.padEnd(4)}  ${fmt(c.endMs - c.startMs, 1).padStart(7)} ms on the node  ${shortCommand(c.command)}`,
    })),
  ].sort((a, b) => a.atS - b.atS);
  if (print) {
    console.log(
      `\n  ${run.pkg} on ${run.nodes.join('+')}: wall ${fmt(run.m.wallS)} s, commands ${fmt(run.cmd1S, 3)} + ${fmt(run.cmd2S, 3)} s, overhead ${fmt(run.overheadS)} s`,
    );
    for (const r of rows) console.log(`    +${fmt(r.atS, 3).padStart(7)} s  ${r.text}`);
    console.log(`    +${fmt(run.m.wallS, 3).padStart(7)} s  main  process exited`);
  }
  const execs = cmds.filter((c) => c.endMs !== null);
  // build 2's node-build.sh on the critical path is `resume2` (its `prepare2` ran during build 1), or `2` when not prepared
  const nb = (n: 1 | 2): NodeCommand | undefined => execs.find((c) => c.node === run.nodes[n - 1] && / sh \S*node-build\.sh (?:resume)?[12] /.test(c.command));
  const prep = execs.find((c) => c.node === run.nodes[1] && / sh \S*node-build\.sh prepare2 /.test(c.command));
  const done = (n: 1 | 2): number => run.m.lines.find((l) => new RegExp(`^ {2}build ${n} on \\S+: built in `).test(l.text))?.atS ?? NaN;
  const nbS = (n: 1 | 2): number => {
    const c = nb(n);
    return c?.endMs ? (c.endMs - c.startMs) / 1000 : NaN;
  };
  const fetch = (n: 1 | 2): number => {
    const c = nb(n);
    return c?.endMs ? done(n) - rel(c.endMs) : NaN;
  };
  const small = execs.filter((c) => !/node-build\.sh (?:prepare|resume)?[12] /.test(c.command));
  return {
    size: run.size,
    run,
    execs: execs.length,
    sftpSessions: cmds.length - execs.length,
    nodeBuildS: [nbS(1), nbS(2)],
    scriptS: [nbS(1) - run.cmd1S, nbS(2) - run.cmd2S],
    prepare2S: prep?.endMs ? (prep.endMs - prep.startMs) / 1000 : NaN,
    fetchS: [fetch(1), fetch(2)],
    smallExecS: small.reduce((s, c) => s + ((c.endMs ?? c.startMs) - c.startMs) / 1000, 0),
    smallExecs: small.length,
  };
}

// ---------------------------------------------------------------------------
// Round trips and per-byte costs of reprofarm's own SSH transport (core/ssh-transport.ts)
// ---------------------------------------------------------------------------

const RT_SAMPLES = 8;

interface Cost {
  what: string;
  ms: number[];
  /** bytes moved or hashed per sample, for a MiB/s column */
  bytes?: number;
}

/**
 * What each step of a build costs at least: connect, `exec true`, SFTP put
 * and get of a small file; and per byte: SFTP get of 1 and 100 MiB, the
 * node's sha256sum (SHA256SUMS), the main side's readFile + SHA256 (as
 * builder/orchestrator.ts fetchResults checks a fetched file).
 */
async function transportCosts(farm: SshFarm, tmp: string, blob: string, bigBytes: number): Promise<Cost[]> {
  const n = farm.node('n1');
  const node: NodeConfig = {
    name: n.name,
    transport: 'ssh',
    host: n.host,
    port: n.port,
    user: farm.user,
    identityFile: farm.identityFile,
    knownHosts: farm.knownHostsFile,
    arch: ARCH,
    offline: false,
    workdir: n.workdir,
  };
  const small = path.join(tmp, 'small-file');
  const mib = path.join(tmp, 'mib-file');
  const back = path.join(tmp, 'fetched');
  await fs.writeFile(small, 'x'.repeat(300), { mode: 0o644 });
  await fs.copyFile(blob, mib);
  await fs.truncate(mib, MiB);
  await fs.chmod(mib, 0o644);
  const costs: Cost[] = [];
  const measure = async (what: string, samples: number, fn: () => Promise<unknown>, bytes?: number): Promise<void> => {
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await fn();
      ms.push(performance.now() - t0);
    }
    costs.push({ what, ms, ...(bytes !== undefined ? { bytes } : {}) });
  };
  await measure('connect (TCP, KEX, auth)', 3, async () => (await connectSsh(node, { timeoutMs: 10_000 })).close());
  const t = await connectSsh(node, { timeoutMs: 10_000 });
  const run = async (argv: string[]): Promise<void> => {
    const r = await t.exec(argv, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new CheckFailed(`${argv.join(' ')} on n1 exited ${r.code}: ${r.stderr.toString('utf8')}`);
  };
  try {
    await run(['true']); // the first session of a connection is slower: not counted
    await measure('exec `true` (one session)', RT_SAMPLES, () => run(['true']));
    await measure('first SFTP put (opens the subsystem)', 1, () => t.put(small, `${n.workdir}/rt-small`));
    await measure('SFTP put, 300 bytes', RT_SAMPLES, () => t.put(small, `${n.workdir}/rt-small`));
    await measure('SFTP get, 300 bytes', RT_SAMPLES, () => t.get(`${n.workdir}/rt-small`, back));
    await measure('SFTP get, 1 MiB', RT_SAMPLES, () => t.get(mib, back), MiB);
    await measure(`SFTP get, ${fmt(bigBytes / MiB, 0)} MiB`, 3, () => t.get(blob, back), bigBytes);
    await measure(`node: sha256sum ${fmt(bigBytes / MiB, 0)} MiB (exec)`, 3, () => run(['sha256sum', blob]), bigBytes);
    await measure(
      `main: readFile + SHA256, ${fmt(bigBytes / MiB, 0)} MiB`,
      3,
      async () =>
        createHash('sha256')
          .update(await fs.readFile(back))
          .digest('hex'),
      bigBytes,
    );
    await run(['rm', '-f', `${n.workdir}/rt-small`]);
  } finally {
    t.close();
    await fs.rm(back, { force: true });
  }
  return costs;
}

// ---------------------------------------------------------------------------

export async function run(): Promise<void> {
  console.log('== build: orchestration overhead of one build pair over loopback sshd, trivial build backend ==');
  for (const [k, v] of machineInfo()) console.log(`${k.padEnd(7)} ${v}`);
  if (process.getuid?.() !== 0) throw new CheckFailed('the sshd harness needs root (it creates the node user and runs sshd)');
  for (const tool of [SSHD, '/usr/lib/openssh/sftp-server', CLI]) {
    if (!existsSync(tool)) throw new CheckFailed(`${tool} is missing`);
  }

  const buildS = buildDist();
  console.log(`built   dist/ with npm run build in ${fmt(buildS, 1)} s`);

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprofarm-bench-build-'));
  let farm: SshFarm | undefined;
  let mirror: TestMirror | undefined;
  let server: MirrorServer | undefined;
  const stopAll = async (): Promise<void> => {
    await server?.close();
    await farm?.stop();
    await mirror?.cleanup();
    await fs.rm(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: stopping the farm`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // the node user reads the build script and the blob, and writes the profile logs
    await fs.chmod(tmp, 0o755);
    const blob = path.join(tmp, 'blob');
    const script = path.join(tmp, 'trivial-build.sh');
    const profDir = path.join(tmp, 'profile');
    const maxBytes = Math.max(...SIZES.map((s) => s.bytes));
    const t0 = performance.now();
    await writeBlob(blob, maxBytes);
    await fs.writeFile(script, TRIVIAL_BUILD_SH, { mode: 0o644 });
    await fs.mkdir(profDir);
    await fs.chmod(profDir, 0o777);
    const wrapper = (node: string): string => path.join(profDir, `wrap-${node}.sh`);
    const wrapLog = (node: string): string => path.join(profDir, `${node}.log`);
    for (const n of ['p1', 'p2']) await fs.writeFile(wrapper(n), wrapperSh(wrapLog(n)), { mode: 0o755 });
    console.log(`backend sh ${script} ${blob} (${fmt(maxBytes / MiB, 0)} MiB AES-CTR stream, written in ${fmt((performance.now() - t0) / 1000, 1)} s)`);

    const pkgs = (s: Size): string[] => Array.from({ length: s.runs }, (_, i) => `${s.key}-${i + 1}`);
    const warm = ['tiny-warm', 'tiny-pwarm'];
    const profiled = SIZES.map((s) => `${s.key}-prof`);
    const workerPkgs = Array.from({ length: WORKER_BUILDS }, (_, i) => `tiny-w${i + 1}`);
    const all = [...warm, ...SIZES.flatMap(pkgs), ...profiled, ...workerPkgs];
    let t = performance.now();
    mirror = await createTestMirror({ dir: tmp });
    await mirror.writeSuite({ suite: SUITE, packages: all.map((name) => ({ name, version: VERSION })) });
    server = await mirror.serve();
    console.log(`mirror  ${server.url}: ${all.length} source packages (${VERSION}, 3.0 native), signed, in ${fmt((performance.now() - t) / 1000, 1)} s`);

    t = performance.now();
    farm = await startSshFarm({
      nodes: [
        { name: 'n1' },
        { name: 'n2' },
        { name: 'p1', forceCommand: `/bin/sh ${wrapper('p1')}` },
        { name: 'p2', forceCommand: `/bin/sh ${wrapper('p2')}` },
      ],
    });
    console.log(
      `farm    ${farm.nodes.map((n) => `${n.name}:${n.port}`).join(' ')} on 127.0.0.1, started in ${fmt((performance.now() - t) / 1000, 1)} s ` +
        '(p1, p2: every command through a ForceCommand wrapper that logs it, for the profile only)',
    );

    const stateDir = path.join(tmp, 'state');
    const config = path.join(tmp, 'reprofarm.yaml');
    const f = farm;
    const nodeYaml = (name: string): string => {
      const n = f.node(name);
      return [
        `  ${name}:`,
        `    host: ${n.host}`,
        `    port: ${n.port}`,
        `    user: ${f.user}`,
        `    arch: ${ARCH}`,
        `    identity_file: ${f.identityFile}`,
        `    known_hosts: ${f.knownHostsFile}`,
        `    workdir: ${n.workdir}`,
      ].join('\n');
    };
    await fs.writeFile(
      config,
      [
        '# reprofarm build benchmark',
        `state_dir: ${JSON.stringify(stateDir)}`,
        `mirror: ${server.url}`,
        `mirror_keyring: ${JSON.stringify(mirror.keyring)}`,
        `suites: [${SUITE}]`,
        `architectures: [${ARCH}]`,
        'schedule: { max_per_arch: 0 }',
        'nodes:',
        ...['n1', 'n2', 'p1', 'p2'].map(nodeYaml),
        'jobs:',
        '  bench_build: { nodes: [n1, n2] }',
        '  bench_profile: { nodes: [p1, p2] }',
        `build: { command: ${JSON.stringify(`sh ${script} ${blob}`)} }`,
        '',
      ].join('\n'),
    );
    await cli(config, ['--quiet', 'sync']);

    const costs = await transportCosts(f, tmp, blob, maxBytes);
    console.log(`\nreprofarm's SSH transport (core/ssh-transport.ts) to n1, ms:`);
    console.log(
      table(
        ['operation', 'samples', 'median', 'min', 'max', 'MiB/s'],
        costs.map((c) => [
          c.what,
          String(c.ms.length),
          fmt(median(c.ms), 1),
          fmt(Math.min(...c.ms), 1),
          fmt(Math.max(...c.ms), 1),
          c.bytes === undefined ? '' : fmt(c.bytes / MiB / (median(c.ms) / 1000), 0),
        ]),
      ),
    );
    console.log('(every exec is one SSH session: a round trip; the profile below lists the execs and SFTP sessions of one build pair)');

    // baseline: the CLI with nothing scheduled, no ssh at all
    const idle: TimedRun[] = [];
    for (let i = 0; i < IDLE_RUNS; i++) {
      const m = await runTimed([process.execPath, CLI, '--config', config, '--json', 'build', 'n1', 'n2']);
      const out = (() => {
        try {
          return JSON.parse(m.stdout) as BuildJson;
        } catch {
          return undefined;
        }
      })();
      if (m.code !== 0 || out?.outcome !== 'idle')
        throw new CheckFailed(`idle build (nothing scheduled) exited ${m.code} with ${tail(m.stdout, 3)}\n${tail(m.stderr)}`);
      idle.push(m);
    }
    const idleWall = median(idle.map((m) => m.wallS));
    console.log(
      `\nbaseline: reprofarm build with nothing scheduled (node start-up, config, DB, empty claim; no ssh): ` +
        `median wall ${fmt(idleWall)} s, main CPU ${fmt(median(idle.map((m) => m.cpuS)))} s (${IDLE_RUNS} runs)`,
    );

    const tiny = SIZES[0] as Size;
    console.log('\nfirst build on a pair (copies node-build.sh to both nodes; not counted):');
    const w = await buildOnce({ config, stateDir, blob, size: tiny, pkg: 'tiny-warm', nodes: ['n1', 'n2'] });
    console.log(runLine('warm-up', w));

    console.log('\nruns (round-robin over the sizes; wall = the reprofarm build process; commands = BUILD_COMMAND_MS of build 1 + build 2;');
    console.log("      overhead = wall - commands; phases from the --verbose lines' arrival times, seconds):");
    const runs: BuildRun[] = [];
    const queues = SIZES.map((s) => pkgs(s).map((pkg) => ({ s, pkg })));
    for (let round = 0; queues.some((q) => q.length > round); round++) {
      for (const q of queues) {
        const item = q[round];
        if (!item) continue;
        const r = await buildOnce({ config, stateDir, blob, size: item.s, pkg: item.pkg, nodes: ['n1', 'n2'] });
        runs.push(r);
        console.log(runLine(`${item.s.label} run ${round + 1}`, r));
      }
    }

    const of = (s: Size): BuildRun[] => runs.filter((r) => r.size === s);
    const med = (s: Size, fn: (r: BuildRun) => number): number => median(of(s).map(fn));
    const tinyOverhead = med(tiny, (r) => r.overheadS);
    const rows = SIZES.filter((s) => of(s).length > 0).map((s) => {
      const extra = med(s, (r) => r.overheadS) - tinyOverhead;
      // the extra overhead over the tiny builds, per extra byte moved (two artifacts, one per build)
      // (for small artifacts the difference is noise and per-file latency, not throughput)
      const mbs = s.bytes < 10 * MiB || extra <= 0 ? 'n/a' : fmt((2 * (s.bytes - tiny.bytes)) / MiB / extra, 0);
      return [
        s.label,
        String(of(s).length),
        fmt(med(s, (r) => r.m.wallS)),
        fmt(
          med(s, (r) => r.cmd1S + r.cmd2S),
          3,
        ),
        fmt(med(s, (r) => r.overheadS)),
        fmt(s === tiny ? 0 : extra),
        mbs,
        fmt(med(s, (r) => r.m.cpuS)),
        fmt(med(s, (r) => r.m.machineCpuS)),
      ];
    });
    console.log(`\nmedians per artifact size (pair n1+n2, ${SUITE}/${ARCH}):`);
    console.log(table(['artifact', 'runs', 'wall s', 'commands s', 'overhead s', 'vs 1 KiB s', 'MiB/s', 'main CPU s', 'machine CPU s'], rows));
    console.log("(MiB/s, from 10 MiB up: the 2 artifacts' extra bytes over the extra overhead vs 1 KiB, i.e. node-side SHA256SUMS + SFTP fetch");
    console.log(' + main-side readFile and SHA256 + rename, end to end;');
    console.log(' main CPU: user+sys of the reprofarm process; machine CPU: all busy CPU on this host incl. sshd, node-build.sh and the commands)');
    const prow = SIZES.filter((s) => of(s).length > 0).map((s) => [
      s.label,
      ...(['startS', 'prep1S', 'build1S', 'prep2S', 'build2S', 'recordS', 'exitS'] as const).map((k) => fmt(med(s, (r) => r.phases[k]))),
    ]);
    console.log('\nmedian phases, seconds (start: spawn to claimed; prep1: .dsc, connecting, what precedes node-build.sh on n1; build N: node-build.sh');
    console.log('incl. the command, fetching the results, rm; prep2: what precedes node-build.sh on n2; record: compare + DB; exit: JSON, closing):');
    console.log(table(['artifact', 'start', 'prep1', 'build1', 'prep2', 'build2', 'record', 'exit'], prow));

    // profile: one build per size on the wrapped nodes
    console.log("\nprofile: one build per size on p1+p2 (sshd ForceCommand wrapper logs each command's node-side time; the wrapper adds a");
    console.log('sh and two date(1) per command, so these runs are a little slower than the ones above). Timeline of the 1 KiB build:');
    await buildOnce({ config, stateDir, blob, size: tiny, pkg: 'tiny-pwarm', nodes: ['p1', 'p2'] });
    const summaries: ProfileSummary[] = [];
    for (const s of SIZES) {
      for (const n of ['p1', 'p2']) await fs.rm(wrapLog(n), { force: true });
      const r = await buildOnce({ config, stateDir, blob, size: s, pkg: `${s.key}-prof`, nodes: ['p1', 'p2'] });
      const cmds = [...(await readWrapperLog('p1', wrapLog('p1'))), ...(await readWrapperLog('p2', wrapLog('p2')))];
      summaries.push(profile(r, cmds, s === tiny));
    }
    console.log("\nprofile summary (seconds; script = node-build.sh's own time outside the command, for build 2 its resume2 half only;");
    console.log('prepare 2 = node-build.sh prepare2 on n2 (download, checks, unpack), run during build 1 and not on the critical path;');
    console.log('fetch = node-build.sh end to "build N done": cat SHA256SUMS, one SFTP get per file, SHA256 on the main side, rename,');
    console.log('rm -rf on the node; small execs = every other command):');
    console.log(
      table(
        ['artifact', 'wall', 'overhead', 'execs', 'sftp', 'small execs s', 'script 1', 'prepare 2', 'script 2', 'fetch 1', 'fetch 2', 'main-side rest'],
        summaries.map((p) => {
          const nodeSide = p.scriptS[0] + p.scriptS[1] + p.fetchS[0] + p.fetchS[1] + p.smallExecS;
          return [
            p.size.label,
            fmt(p.run.m.wallS),
            fmt(p.run.overheadS),
            String(p.execs),
            String(p.sftpSessions),
            `${fmt(p.smallExecS)} (${p.smallExecs})`,
            fmt(p.scriptS[0]),
            fmt(p.prepare2S),
            fmt(p.scriptS[1]),
            fmt(p.fetchS[0]),
            fmt(p.fetchS[1]),
            fmt(p.run.overheadS - nodeSide),
          ];
        }),
      ),
    );
    console.log('(main-side rest = overhead - script - fetch - small execs: node start-up, DB, .dsc, connecting, the gaps between round trips)');

    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    // the worker: one long-running process, the pair's connections kept from one build to the next
    const wk = await workerRuns(config, stateDir, workerPkgs);
    console.log(`\nreprofarm worker bench_build, ${WORKER_BUILDS} tiny builds in one process (the way a farm runs; connections kept between builds):`);
    console.log(`  first build ${fmt(wk.firstS)} s after spawn (node start-up, connecting); then per build (the time from one build's log line to the next):`);
    for (const r of wk.steady) console.log(`    ${r.pkg.padEnd(9)} ${fmt(r.wallS)} s, commands ${fmt(r.cmdS, 3)} s, overhead ${fmt(r.wallS - r.cmdS)} s`);
    const workerOverhead = median(wk.steady.map((r) => r.wallS - r.cmdS));

    console.log('\ngoals:');
    console.log(
      `  1 KiB artifacts, one \`reprofarm build\` per pair: overhead = ${fmt(tinyOverhead)} s, median of ${of(tiny).length} (goal < ${GOALS.tinyOverheadS} s)  ${verdict(tinyOverhead < GOALS.tinyOverheadS)}`,
    );
    console.log(
      `  1 KiB artifacts, in \`reprofarm worker\`: overhead = ${fmt(workerOverhead)} s, median of ${wk.steady.length} (goal < ${GOALS.tinyOverheadS} s)  ${verdict(workerOverhead < GOALS.tinyOverheadS)}`,
    );
    for (const s of SIZES.slice(1)) {
      if (of(s).length === 0) continue;
      const o = med(s, (r) => r.overheadS);
      console.log(`  ${s.label} artifacts: overhead = ${fmt(o)} s (informational: +${fmt(o - tinyOverhead)} s over 1 KiB for 2 x ${s.label})`);
    }
    // what signing adds per recorded result, and a user's verify of one .deb (bench/attest.ts)
    await attestFigures(tmp);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

// `npx tsx bench/build.ts`: this benchmark alone
await runIfMain('build', import.meta.url, run);
