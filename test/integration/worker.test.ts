/**
 * `reprofarm worker` as an operator runs it: one process building every job's
 * schedule with real dpkg-buildpackage on local nodes, a line per build on
 * stderr, skipping an offline pair, and on SIGTERM: finishing, or past the
 * grace period aborting, cleaning the nodes and giving the claim back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../db/index.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { BIN, runCli } from '../helpers/cli.js';

let mirror: TestMirror;
let server: MirrorServer;
let dir: string;
const SLEEP_MARK = `${4000 + Math.floor(Math.random() * 900)}.5`;

beforeAll(async () => {
  mirror = await createTestMirror();
  await mirror.writeSuite({
    suite: 'bookworm',
    packages: [
      { name: 'wrepro', version: '1.0' },
      { name: 'wdate', version: '1.0', buildScript: 'date -u +%Y%m%d%H%M%S%N > build/stamp.txt' },
      { name: 'wslow', version: '1.0', buildScript: `sleep ${SLEEP_MARK}` },
    ],
  });
  server = await mirror.serve();
  dir = mkdtempSync(join(tmpdir(), 'rf-worker-'));
}, 180_000);

afterAll(async () => {
  await server?.close();
  await mirror?.cleanup();
});

function config(name: string, extra: string[] = []): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `state_dir: ./${name}`,
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      'architectures: [amd64]',
      'schedule: { max_per_arch: 0 }',
      'nodes:',
      '  local1: { transport: local }',
      '  local2: { transport: local }',
      '  spare: { transport: local, offline: true }',
      'jobs:',
      '  reproducible_build_local_1: { nodes: [local1, local2] }',
      '  spare_job: { nodes: [spare, local2] }',
      ...extra,
    ].join('\n'),
  );
  return file;
}

function startWorker(cfg: string, jobs: string[] = []): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, '--config', cfg, 'worker', ...jobs], {
    cwd: dir,
    env: { ...process.env, REPROFARM_CONFIG: '', JOURNAL_STREAM: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

async function until(what: string, check: () => boolean, timeoutMs: number, debug: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr so far:\n${debug()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function q<T>(stateDir: string, sql: string): T[] {
  const db = openDb(join(dir, stateDir, 'reproducible.db'));
  try {
    return db.sql.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('reprofarm worker', () => {
  it('builds what is scheduled, logs a line per build, skips an offline pair, and stops cleanly on SIGTERM', async () => {
    // no culprit searches: an FTBR's follow-up builds would run when the queue is empty (test/integration/culprit.test.ts)
    const cfg = config('w1', ['worker: { idle_sleep: 0.5, grace: 60 }', 'culprit: { max_builds_per_day: 0 }']);
    expect((await runCli(['--config', cfg, 'sync'], { cwd: dir })).code).toBe(0);
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'wrepro', 'wdate'], { cwd: dir })).code).toBe(0);
    const w = startWorker(cfg);
    await until('both packages recorded', () => q<{ n: number }>('w1', 'SELECT COUNT(*) AS n FROM results')[0]?.n === 2, 150_000, w.stderr);
    const results = q<{ package: string; status: string; job: string }>('w1', 'SELECT package, status, job FROM results ORDER BY package');
    expect(results).toEqual([
      { package: 'wdate', status: 'FTBR', job: 'reproducible_build_local_1' },
      { package: 'wrepro', status: 'reproducible', job: 'reproducible_build_local_1' },
    ]);
    await until('the log lines', () => /status=FTBR/.test(w.stderr()), 10_000, w.stderr);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const log = w.stderr();
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z worker started jobs=reproducible_build_local_1,spare_job pid=\d+$/m);
    expect(log).toMatch(/ build job=reproducible_build_local_1 package=wrepro version=1\.0 suite=bookworm arch=amd64 status=reproducible$/m);
    expect(log).toMatch(/ build job=reproducible_build_local_1 package=wdate version=1\.0 suite=bookworm arch=amd64 status=FTBR reason="[^"]+"$/m);
    expect(log).toMatch(/ skipped job=spare_job reason="spare is marked offline in the configuration" retry_in=30s$/m);
    expect(log).toMatch(/ stopping: no new claims; running=0 grace=60s$/m);
    expect(log).toMatch(/ worker stopped$/m);
  }, 240_000);

  it('on SIGTERM past the grace period: aborts the build, cleans the node, gives the claim back', async () => {
    const cfg = config('w2', ['worker: { idle_sleep: 0.5, grace: 1 }']);
    expect((await runCli(['--config', cfg, 'sync'], { cwd: dir })).code).toBe(0);
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'wslow'], { cwd: dir })).code).toBe(0);
    const w = startWorker(cfg, ['reproducible_build_local_1']);
    const sleeping = (): boolean => spawnSync('pgrep', ['-f', `sleep ${SLEEP_MARK}`]).status === 0;
    await until('the slow build to run', sleeping, 120_000, w.stderr);
    const claimed = q<{ claimed_by: string | null }>('w2', "SELECT claimed_by FROM schedule WHERE package = 'wslow'");
    expect(claimed).toEqual([{ claimed_by: 'reproducible_build_local_1' }]);
    const pending = join(dir, 'w2', 'nodes', 'local1', 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'wslow');
    expect(existsSync(pending)).toBe(true);
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
    expect(w.stderr()).toMatch(/ aborting running=1: cleaning their nodes and giving their claims back$/m);
    expect(w.stderr()).toMatch(/ requeued job=reproducible_build_local_1 package=wslow version=1\.0 reason=/m);
    // the claim is back, waiting; nothing of the build is left running or pending
    expect(q('w2', "SELECT claimed_by, claimed_at FROM schedule WHERE package = 'wslow'")).toEqual([{ claimed_by: null, claimed_at: null }]);
    expect(q('w2', 'SELECT COUNT(*) AS n FROM results')).toEqual([{ n: 0 }]);
    expect(sleeping()).toBe(false);
    expect(existsSync(pending) ? readdirSync(pending) : []).toEqual([]);
  }, 240_000);

  it('refuses an unknown job with a usage error', async () => {
    const r = await runCli(['--config', config('w3'), 'worker', 'no_such_job'], { cwd: dir });
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('unknown job "no_such_job"');
  });
});
