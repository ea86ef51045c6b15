/**
 * Benchmark helpers: run a shell command as one measured process tree, read
 * the machine's CPU counters, format figures.
 *
 * CPU of a process tree: the command runs inside a subshell of `sh -c`; when
 * the subshell is done the outer shell prints the POSIX `times` builtin to
 * fd 3. Its second line is the cumulative user and system time of every child
 * the shell waited for, which includes all their waited-for descendants (the
 * kernel adds a reaped child's own children times to its parent's). Processes
 * that daemonize (reparented to init) are not counted; none of the measured
 * approaches does that.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { shQuote } from '../core/shell.js';

export { shQuote };

/** The project root (the folder holding package.json). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let clkTck: number | undefined;
/** Kernel clock ticks per second for /proc/stat (USER_HZ), normally 100. */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clkTck = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Busy CPU seconds of the whole machine since boot: user+nice+system+irq+softirq over all CPUs. */
export function machineCpuSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no "cpu" line');
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  return (at(0) + at(1) + at(2) + at(5) + at(6)) / clockTicks();
}

/**
 * Wait until the machine is quiet: the busy share of all CPUs stays under
 * `maxBusy` for one `windowMs` window (the previous run's sshd children,
 * writeback and the like have settled), or `maxWaitMs` passed. Every run of a
 * comparison then starts from the same state. Returns the seconds waited.
 */
export async function waitForQuiet(maxBusy = 0.15, windowMs = 300, maxWaitMs = 15_000): Promise<number> {
  const cpus = os.cpus().length || 1;
  const t0 = performance.now();
  for (;;) {
    const busy0 = machineCpuSeconds();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const share = (machineCpuSeconds() - busy0) / (((performance.now() - w0) / 1000) * cpus);
    if (share < maxBusy || performance.now() - t0 > maxWaitMs) return (performance.now() - t0) / 1000;
  }
}

export interface Measured {
  /** wall time from spawn to exit and closed output, seconds */
  wallS: number;
  /** user and system CPU seconds of the command's whole (waited-for) process tree */
  userS: number;
  sysS: number;
  cpuS: number;
  /** busy CPU seconds of the whole machine during the run (all processes, both sides of loopback ssh) */
  machineCpuS: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Parse the `times` builtin's output: second line is the children's `XmY.YYYs XmY.YYYs`. */
export function parseTimes(text: string): { userS: number; sysS: number } {
  const line = text.split('\n')[1] ?? '';
  const m = /^\s*(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(line);
  if (!m) throw new Error(`cannot parse the output of the shell's times builtin: ${JSON.stringify(text)}`);
  return {
    userS: Number(m[1]) * 60 + Number(m[2]),
    sysS: Number(m[3]) * 60 + Number(m[4]),
  };
}

/**
 * Run `script` (POSIX sh; may use `exit`) as one process tree and measure it.
 * stdout and stderr are captured (keep them small: redirect bulk output to files).
 */
export function runMeasured(script: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Measured> {
  const wrapped = `(\n${script}\n)\nst=$?\ntimes >&3\nexit $st\n`;
  return new Promise<Measured>((resolve, reject) => {
    const cpu0 = machineCpuSeconds();
    const t0 = performance.now();
    const child = spawn('/bin/sh', ['-c', wrapped], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const times: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
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
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      let cpu: { userS: number; sysS: number };
      try {
        cpu = parseTimes(Buffer.concat(times).toString('utf8'));
      } catch (e) {
        reject(new Error(`${(e as Error).message}\n(exit ${code ?? signal}; stderr: ${stderr.trim().slice(-2000)})`));
        return;
      }
      resolve({ wallS, ...cpu, cpuS: cpu.userS + cpu.sysS, machineCpuS, code, signal, stdout, stderr });
    });
  });
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** A plain-text table with right-aligned columns except the first. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** Machine facts worth printing next to benchmark figures. */
export function machineInfo(): Array<[string, string]> {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1];
  } catch {
    // not Linux
  }
  const sshV = spawnSync('/usr/bin/ssh', ['-V'], { encoding: 'utf8' });
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return [
    ['nproc', String(os.availableParallelism())],
    ['cpu', cpuModel],
    ['memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    ['kernel', `${os.type()} ${os.release()}`],
    ['node', process.version],
    ['ssh', `${sshV.stderr || sshV.stdout || 'unknown'}`.trim()],
    ['load', load],
  ];
}

/** Run `npm run build` so dist/ is current; throws with its output when it fails. */
export function buildDist(): number {
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`npm run build could not start: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`npm run build failed (exit ${r.status ?? r.signal}):\n${`${r.stdout}${r.stderr}`.trim()}`);
  }
  return (performance.now() - t0) / 1000;
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

export function shArgs(words: readonly string[]): string {
  return words.map(shQuote).join(' ');
}

/** A failed correctness check: its message is the whole story (bench/run.ts prints no stack for it). */
export class CheckFailed extends Error {
  override name = 'CheckFailed';
}

/** `$NAME` as comma-separated integers in min..max, else `dflt`. */
export function envInts(name: string, dflt: number[], min: number, max: number): number[] {
  const raw = process.env[name];
  if (!raw) return dflt;
  const xs = raw.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < min || x > max))
    throw new CheckFailed(`${name}=${raw}: expected comma-separated integers ${min}..${max}`);
  return xs;
}

/** The value of `--name VALUE` or `--name=VALUE` in argv. */
export function optionValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === name) return argv[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

/** Run a benchmark module's `run` when that module is the script node was started with (`npx tsx bench/NAME.ts`). */
/**
 * Environment variables that make every Node.js start slower and have nothing
 * to do with reprofarm: unset for the benchmarks' child processes, with a
 * note of what each cost on this machine. NODE_EXTRA_CA_CERTS (some sandboxes
 * set it) makes Node read and parse a CA bundle at every start; the
 * benchmarks' mirrors are plain HTTP on loopback and need no CA.
 */
export function scrubNodeStartupEnv(): void {
  const name = 'NODE_EXTRA_CA_CERTS';
  const value = process.env[name];
  if (!value) return;
  const startMs = (env: NodeJS.ProcessEnv): number => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0'], { env });
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  const withIt = startMs(process.env);
  delete process.env[name];
  const without = startMs(process.env);
  console.log(
    `env     ${name}=${value} unset for the benchmarks: every Node.js start read it (node -e 0: ${withIt.toFixed(0)} ms with it, ${without.toFixed(0)} ms without)`,
  );
}

export async function runIfMain(name: string, moduleUrl: string, run: () => Promise<void>): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(path.resolve(process.argv[1])).href) return;
  scrubNodeStartupEnv();
  try {
    await run();
  } catch (err) {
    console.error(`\n[${name}] FAILED: ${err instanceof Error ? (err.name === 'CheckFailed' ? err.message : (err.stack ?? err.message)) : String(err)}`);
    process.exitCode = 1;
  }
}
