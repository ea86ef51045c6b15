/**
 * Collector benchmark: facts from 32 sshd-backed loopback nodes, three ways,
 * and two reference points.
 *
 *   reprofarm   the real CLI (`reprofarm collect --concurrency 16`) as a child process
 *   sequential  one /usr/bin/ssh per node, one after the other (Debian's farm loop)
 *   pssh        parallel-ssh -p 16, the info script fed on stdin
 *   naive       the issue's reference: a bare ssh2 + p-limit fan-out (bench/naive-fanout.mjs)
 *   floor       the same fan-out running `true`: what connecting alone costs the sshd side
 *
 * Each approach runs ROUNDS times, round-robin so warm-up and background noise
 * do not favour one. Measured per run: wall time and the CPU (user+sys) of the
 * approach's whole process tree on the main side. The sshd side (sshd, the
 * node's sh running info.sh) runs on the same cores but is not part of the
 * main side; the machine's total busy CPU is printed for context.
 *
 * Correctness is checked after every run; a failed check fails the benchmark
 * (non-zero exit). A missed performance goal only prints MISS.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { opensshArgs, SSH, startSshFarm, type SshFarm } from '../test/harness/sshd.js';
import { buildDist, CheckFailed, fmt, machineInfo, type Measured, median, ROOT, runMeasured, shArgs, shQuote, table, waitForQuiet } from './lib.js';

const NODES = 32;
const CONCURRENCY = 16;
const ROUNDS = 5;
const PSSH = '/usr/bin/parallel-ssh';
/** The one workdir argument the sequential loop and pssh pass to info.sh (see workdirNote). */
const SHARED_WORKDIR = '/tmp';
const INFO_SH = path.join(ROOT, 'collector', 'info.sh');
const CLI = path.join(ROOT, 'bin', 'reprofarm.js');

const GOALS = {
  seqOverReprofarmWall: 3,
  psshOverReprofarmWall: 2,
  cpuPerNodeVsPssh: 1 / 6,
};

type ApproachName = 'reprofarm' | 'sequential' | 'pssh' | 'naive' | 'floor';
const NAIVE = path.join(ROOT, 'bench', 'naive-fanout.mjs');

interface Approach {
  name: ApproachName;
  describe: string;
  /** a shell script for one run; `run` is 1-based */
  script(run: number): string;
  /** throws when the run did not collect every node */
  check(run: number, m: Measured, ctx: RunContext): Promise<void>;
  /** called right before the run starts (e.g. to snapshot the DB) */
  before?(run: number): RunContext;
}

interface RunContext {
  startedAtMs: number;
  maxCollectionId: number;
}

function tail(text: string, lines = 20): string {
  const t = text.trim();
  if (!t) return '(empty)';
  return t.split('\n').slice(-lines).join('\n');
}

function requireExit0(what: string, m: Measured): void {
  if (m.code !== 0) {
    throw new CheckFailed(
      `${what} exited with ${m.code === null ? `signal ${m.signal}` : `code ${m.code}`}\n--- stderr:\n${tail(m.stderr)}\n--- stdout:\n${tail(m.stdout)}`,
    );
  }
}

/** Every file in `dir` must contain an `ARCH=` fact; there must be exactly `count` files. */
async function checkOutputs(what: string, dir: string, count: number, errDir?: string): Promise<void> {
  const names = (await fs.readdir(dir)).sort();
  const bad: string[] = [];
  for (const n of names) {
    const text = await fs.readFile(path.join(dir, n), 'utf8');
    if (!/^ARCH=\S+$/m.test(text)) bad.push(n);
  }
  if (names.length !== count || bad.length > 0) {
    let errs = '';
    if (errDir && existsSync(errDir)) {
      for (const n of (await fs.readdir(errDir)).slice(0, 5)) {
        errs += `\n${n}: ${tail(await fs.readFile(path.join(errDir, n), 'utf8'), 3)}`;
      }
    }
    throw new CheckFailed(
      `${what}: expected ${count} outputs with ARCH= in ${dir}, found ${names.length} files` +
        `${bad.length ? `, ${bad.length} without ARCH= (${bad.slice(0, 5).join(', ')})` : ''}${errs}`,
    );
  }
}

function approaches(farm: SshFarm, tmp: string): Approach[] {
  const stateDir = path.join(tmp, 'state');
  const configFile = path.join(tmp, 'reprofarm.yaml');
  const dbPath = path.join(stateDir, 'reproducible.db');
  const infoDir = path.join(stateDir, 'node-information');
  const nodeNames = farm.nodes.map((n) => n.name);

  const reprofarm: Approach = {
    name: 'reprofarm',
    describe: `node bin/reprofarm.js --quiet collect --concurrency ${CONCURRENCY} (ssh2, one process)`,
    script: () => shArgs([process.execPath, CLI, '--config', configFile, '--quiet', 'collect', '--concurrency', String(CONCURRENCY)]),
    before() {
      let maxCollectionId = 0;
      if (existsSync(dbPath)) {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          maxCollectionId = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM collections').get() as { id: number }).id;
        } finally {
          db.close();
        }
      }
      return { startedAtMs: Date.now(), maxCollectionId };
    },
    async check(run, m, ctx) {
      requireExit0(`reprofarm collect (run ${run})`, m);
      const files = (await fs.readdir(infoDir)).sort();
      const problems: string[] = [];
      if (files.length !== NODES) problems.push(`${files.length} files in ${infoDir}, expected ${NODES}`);
      for (const node of nodeNames) {
        const file = path.join(infoDir, node);
        let st;
        try {
          st = await fs.stat(file);
        } catch {
          problems.push(`${file} is missing`);
          continue;
        }
        // atomic writes replace the file, so a fresh mtime means this run wrote it (1 s slack for coarse clocks)
        if (st.mtimeMs < ctx.startedAtMs - 1000) problems.push(`${file} was not rewritten by this run`);
        const text = await fs.readFile(file, 'utf8');
        if (!/^ARCH=\S+$/m.test(text) || !text.includes(`\nNODE=${node}\n`)) problems.push(`${file} lacks ARCH= or NODE=${node}`);
      }
      if (!existsSync(dbPath)) {
        problems.push(`${dbPath} does not exist`);
      } else {
        const db = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          const row = db
            .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(ok), 0) AS ok, COUNT(DISTINCT node) AS nodes FROM collections WHERE id > ?')
            .get(ctx.maxCollectionId) as { n: number; ok: number; nodes: number };
          if (row.n !== NODES || row.ok !== NODES || row.nodes !== NODES) {
            problems.push(
              `reproducible.db got ${row.n} new collections rows (${row.ok} with ok=1, ${row.nodes} distinct nodes), expected ${NODES} ok rows for ${NODES} nodes`,
            );
          }
        } finally {
          db.close();
        }
      }
      if (problems.length > 0) {
        throw new CheckFailed(`reprofarm collect (run ${run}):\n  ${problems.slice(0, 10).join('\n  ')}\n--- stderr:\n${tail(m.stderr)}`);
      }
    },
  };

  const seqDir = (run: number): string => path.join(tmp, `sequential-${run}`);
  const sequential: Approach = {
    name: 'sequential',
    describe: `for each node: ${SSH} ... sh -s -- ${SHARED_WORKDIR} < info.sh > out/NODE`,
    script(run) {
      const out = seqDir(run);
      const lines = [`mkdir -p ${shQuote(out)} || exit 1`, 'rc=0'];
      for (const node of farm.nodes) {
        lines.push(
          `${shArgs([SSH, ...opensshArgs(farm, node), 'sh', '-s', '--', SHARED_WORKDIR])} < ${shQuote(INFO_SH)} > ${shQuote(path.join(out, node.name))} || rc=1`,
        );
      }
      lines.push('exit $rc');
      return lines.join('\n');
    },
    async check(run, m) {
      requireExit0(`sequential ssh loop (run ${run})`, m);
      await checkOutputs(`sequential ssh loop (run ${run})`, seqDir(run), NODES);
    },
  };

  const hostsFile = path.join(tmp, 'pssh-hosts');
  const psshDir = (run: number): string => path.join(tmp, `pssh-${run}`);
  // The same ssh options as opensshArgs, without the per-node port and destination.
  const first = farm.nodes[0];
  if (!first) throw new Error('farm has no nodes');
  const sshOpts = opensshArgs(farm, first);
  if (sshOpts.at(-3) !== '-p' || sshOpts.at(-1) !== `${farm.user}@${first.host}`) {
    throw new Error(`opensshArgs() changed shape (expected ... -p PORT USER@HOST): ${sshOpts.join(' ')}`);
  }
  const extra = sshOpts.slice(0, -3);
  const pssh: Approach = {
    name: 'pssh',
    describe: `parallel-ssh -p ${CONCURRENCY} -I ... sh -s -- ${SHARED_WORKDIR} < info.sh`,
    script(run) {
      const dir = psshDir(run);
      return (
        shArgs([
          PSSH,
          '-p',
          String(CONCURRENCY),
          '-t',
          '60',
          '-h',
          hostsFile,
          '-I',
          '-o',
          path.join(dir, 'out'),
          '-e',
          path.join(dir, 'err'),
          // -x is split like a shell command line by pssh
          '-x',
          shArgs(extra),
          'sh',
          '-s',
          '--',
          SHARED_WORKDIR,
        ]) + ` < ${shQuote(INFO_SH)}`
      );
    },
    async check(run, m) {
      requireExit0(`parallel-ssh (run ${run})`, m);
      await checkOutputs(`parallel-ssh (run ${run})`, path.join(psshDir(run), 'out'), NODES, path.join(psshDir(run), 'err'));
    },
  };

  // The issue's reference point, and the sshd side's floor: see naive-fanout.mjs.
  const naiveSpec = path.join(tmp, 'naive.json');
  const naiveDir = (run: number): string => path.join(tmp, `naive-${run}`);
  const naive: Approach = {
    name: 'naive',
    describe: `node bench/naive-fanout.mjs: bare ssh2 + p-limit ${CONCURRENCY}, sh -s -- ${SHARED_WORKDIR} < info.sh (no config, DB or checks)`,
    script: (run) => `mkdir -p ${shQuote(naiveDir(run))} && ${shArgs([process.execPath, NAIVE, naiveSpec, 'info', naiveDir(run)])}`,
    async check(run, m) {
      requireExit0(`naive fan-out (run ${run})`, m);
      await checkOutputs(`naive fan-out (run ${run})`, naiveDir(run), NODES);
    },
  };
  const floor: Approach = {
    name: 'floor',
    describe: `node bench/naive-fanout.mjs in "true" mode: connect, authenticate, run true (no info script)`,
    script: () => shArgs([process.execPath, NAIVE, naiveSpec, 'true', tmp]),
    check(run, m) {
      requireExit0(`floor fan-out (run ${run})`, m);
      return Promise.resolve();
    },
  };

  return [reprofarm, sequential, pssh, naive, floor];
}

function psshVersion(): string {
  const r = spawnSync(PSSH, ['--version'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim() || 'unknown';
}

export async function run(): Promise<void> {
  console.log('== collect: facts from 32 loopback sshd nodes, three ways and two references ==');
  for (const [k, v] of machineInfo()) console.log(`${k.padEnd(7)} ${v}`);
  console.log(`pssh    ${psshVersion()}`);
  for (const tool of [PSSH, SSH, CLI]) {
    if (!existsSync(tool)) throw new CheckFailed(`${tool} is missing (pssh: apt-get install --no-install-recommends pssh)`);
  }

  const buildS = buildDist();
  console.log(`built   dist/ with npm run build in ${fmt(buildS, 1)} s`);

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprofarm-bench-'));
  let farm: SshFarm | undefined;
  const stopAll = async (): Promise<void> => {
    await farm?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    console.error(`\n${sig}: stopping the farm`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = performance.now();
    farm = await startSshFarm({ nodes: NODES });
    console.log(
      `farm    ${farm.nodes.length} nodes on 127.0.0.1 ports ${farm.nodes[0]?.port}..${farm.nodes.at(-1)?.port}, started in ${fmt((performance.now() - t0) / 1000, 1)} s`,
    );

    const workdirs = new Set(farm.nodes.map((n) => n.workdir));
    const workdirNote =
      workdirs.size > 1
        ? `the farm's ${workdirs.size} nodes have distinct workdirs; reprofarm passes each node its own, while the sequential loop and pssh ` +
          `(one command line for all hosts) pass ${SHARED_WORKDIR} to every node. info.sh does the same work either way: this compares transports.`
        : `all nodes share the workdir ${[...workdirs][0]}`;
    console.log(`note    ${workdirNote}`);

    await fs.writeFile(
      path.join(tmp, 'reprofarm.yaml'),
      `# reprofarm collect benchmark\nstate_dir: ${JSON.stringify(path.join(tmp, 'state'))}\n` +
        `collect:\n  concurrency: ${CONCURRENCY}\n  timeout: 30\n${farm.nodesYaml()}`,
    );
    await fs.writeFile(
      path.join(tmp, 'naive.json'),
      JSON.stringify({
        user: farm.user,
        identityFile: farm.identityFile,
        hostPublicKey: farm.hostPublicKey,
        concurrency: CONCURRENCY,
        workdir: SHARED_WORKDIR,
        infoScript: INFO_SH,
        nodes: farm.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })),
      }),
    );
    await fs.writeFile(path.join(tmp, 'pssh-hosts'), farm.nodes.map((n) => `${farm?.user}@${n.host}:${n.port}\n`).join(''));

    const list = approaches(farm, tmp);
    const results = new Map<ApproachName, Measured[]>(list.map((a) => [a.name, []]));
    const stderrSeen = new Set<string>();
    console.log(
      `\nruns (${ROUNDS} rounds, round-robin, each started once the machine is quiet; CPU = user+sys of the approach's process tree on the main side):`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      for (const a of list) {
        // each run starts on a quiet machine: the previous run's sshd children and writeback have settled
        await waitForQuiet();
        const ctx = a.before?.(round) ?? { startedAtMs: Date.now(), maxCollectionId: 0 };
        const m = await runMeasured(a.script(round));
        await a.check(round, m, ctx);
        results.get(a.name)?.push(m);
        console.log(
          `  round ${round}  ${a.name.padEnd(10)}  wall ${fmt(m.wallS).padStart(6)} s  CPU ${fmt(m.cpuS).padStart(5)} s ` +
            `(user ${fmt(m.userS)} + sys ${fmt(m.sysS)})  machine CPU ${fmt(m.machineCpuS).padStart(5)} s`,
        );
        // reprofarm --quiet and ssh -o LogLevel=ERROR print nothing on success: show anything they did print, once
        const err = a.name === 'pssh' ? '' : m.stderr.trim().replace(/\(node:\d+\)/g, '(node:PID)');
        if (err && !stderrSeen.has(`${a.name}\0${err}`)) {
          stderrSeen.add(`${a.name}\0${err}`);
          console.log(
            `    note: ${a.name} wrote to stderr in round ${round} (the run still passed its checks):\n      ${tail(err, 5).split('\n').join('\n      ')}`,
          );
        }
      }
    }

    const med = (name: ApproachName, f: (m: Measured) => number): number => median((results.get(name) ?? []).map(f));
    const rows = list.map((a) => {
      const wall = med(a.name, (m) => m.wallS);
      const cpu = med(a.name, (m) => m.cpuS);
      const machine = med(a.name, (m) => m.machineCpuS);
      return [a.name, fmt(wall), fmt(cpu), fmt((cpu / NODES) * 1000, 1), fmt(machine), fmt(machine - cpu)];
    });
    console.log(`\nmedians of ${ROUNDS} runs, ${NODES} nodes, concurrency ${CONCURRENCY} (sequential: 1):`);
    console.log(table(['approach', 'wall s', 'main CPU s', 'CPU/node ms', 'machine CPU s', 'other CPU s'], rows));
    console.log('(machine CPU: all busy CPU time on this host during the run, incl. the sshd side; other = machine - main)');
    for (const a of list) console.log(`  ${a.name.padEnd(10)}  ${a.describe}`);

    const rfWall = med('reprofarm', (m) => m.wallS);
    const seqWall = med('sequential', (m) => m.wallS);
    const psshWall = med('pssh', (m) => m.wallS);
    const rfCpu = med('reprofarm', (m) => m.cpuS) / NODES;
    const psshCpu = med('pssh', (m) => m.cpuS) / NODES;
    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    const seqRatio = seqWall / rfWall;
    const psshRatio = psshWall / rfWall;
    const cpuRatio = rfCpu / psshCpu;
    console.log('\ngoals:');
    console.log(
      `  sequential/reprofarm wall = ${fmt(seqRatio, 1)}x (goal >= ${GOALS.seqOverReprofarmWall}x)  ${verdict(seqRatio >= GOALS.seqOverReprofarmWall)}`,
    );
    console.log(
      `  pssh/reprofarm wall = ${fmt(psshRatio, 1)}x (goal >= ${GOALS.psshOverReprofarmWall}x)  ${verdict(psshRatio >= GOALS.psshOverReprofarmWall)}`,
    );
    console.log(
      `  reprofarm CPU per node / pssh CPU per node = ${fmt(cpuRatio, 3)} (goal <= ${fmt(GOALS.cpuPerNodeVsPssh, 3)})  ${verdict(cpuRatio <= GOALS.cpuPerNodeVsPssh)}`,
    );
    // what the same two ratios are for the issue's naive reference and for the sshd side's floor on this machine
    console.log('\nthe same wall ratios for the references (no goals; they show what the sshd side leaves on these cores):');
    for (const name of ['naive', 'floor'] as const) {
      const w = med(name, (m) => m.wallS);
      console.log(
        `  ${name.padEnd(6)} ${fmt(w)} s: sequential/${name} = ${fmt(seqWall / w, 1)}x, pssh/${name} = ${fmt(psshWall / w, 1)}x, ` +
          `reprofarm/${name} = ${fmt(rfWall / w, 2)}`,
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}
