/**
 * The orchestrator killed with SIGKILL during build 1, during the transfer
 * and during build 2, then `reprofarm cleanup`: the stale claim and the
 * pending entries are found and cleaned, the build processes on the nodes are
 * stopped, nothing half-written stays, and no schedule entry is lost. Also:
 * two orchestrators on the same pair at once, and a build timeout that stops
 * the whole process tree. Real sshd nodes, real dpkg-buildpackage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { BIN, runCli } from '../helpers/cli.js';

let mirror: TestMirror;
let server: MirrorServer;
let farm: SshFarm;
let dir: string;
let cfg: string;

// the slow packages are slow once: a requeued build then finishes quickly
const marker = `/tmp/rf-faults-slept-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  mirror = await createTestMirror();
  await mirror.writeSuite({
    suite: 'bookworm',
    packages: [
      { name: 'slow-first', version: '1.0', buildScript: `[ -n "\${CAPTURE_ENVIRONMENT:-}" ] || [ -e ${marker}-1 ] || { touch ${marker}-1; sleep 60; }` },
      { name: 'slow-second', version: '1.0', buildScript: `[ -z "\${CAPTURE_ENVIRONMENT:-}" ] || [ -e ${marker}-2 ] || { touch ${marker}-2; sleep 60; }` },
      { name: 'big', version: '1.0', buildScript: 'head -c 30000000 /dev/urandom > build/big.bin' },
      { name: 'endless', version: '1.0', buildScript: 'sleep 300' },
      { name: 'quick-a', version: '1.0' },
      { name: 'quick-b', version: '1.0' },
    ],
  });
  server = await mirror.serve();
  farm = await startSshFarm({ nodes: [{ name: 'n1' }, { name: 'n2' }] });
  dir = mkdtempSync(join(tmpdir(), 'rf-faults-'));
  chmodSync(dir, 0o755);
  const node = (name: string): string => {
    const n = farm.node(name);
    return [`  ${name}:`, `    host: ${n.host}`, `    port: ${n.port}`, `    user: ${farm.user}`, '    arch: amd64',
      `    identity_file: ${farm.identityFile}`, `    known_hosts: ${farm.knownHostsFile}`, `    workdir: ${n.workdir}`].join('\n');
  };
  cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(cfg, [
    'state_dir: ./state', `mirror: ${server.url}`, `mirror_keyring: ${mirror.keyring}`, 'suites: [bookworm]', 'architectures: [amd64]',
    'schedule: { max_per_arch: 0 }', 'nodes:', node('n1'), node('n2'), 'jobs:', '  pair: { nodes: [n1, n2] }',
  ].join('\n'));
  const r = await runCli(['--config', cfg, 'sync']);
  if (r.code !== 0) throw new Error(r.stderr);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
});

function db(): Database.Database {
  return new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startBuild(): ChildProcess {
  return spawn(process.execPath, [BIN, '--config', cfg, 'build', 'n1', 'n2'], { stdio: 'ignore', env: { ...process.env, REPROFARM_CONFIG: '' } });
}

function nodeProcesses(pattern: RegExp): string[] {
  const out = execFileSync('ps', ['-u', farm.user, '-o', 'args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => pattern.test(l));
}

let priority = 100;

async function killDuring(pkg: string, stage: () => boolean, stageName: string): Promise<void> {
  // each one above the ones requeued before it
  priority += 100;
  expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', pkg, '--priority', String(priority)])).code).toBe(0);
  const child = startBuild();
  const exited = new Promise((r) => child.on('close', r));
  await waitFor(`${pkg}: ${stageName}`, stage);
  child.kill('SIGKILL');
  await exited;
  let d = db();
  expect(d.prepare('SELECT claimed_by FROM schedule WHERE package = ?').get(pkg), `${pkg} stays claimed after the kill`).toEqual({ claimed_by: 'pair' });
  d.close();
  const c = await runCli(['--config', cfg, '--json', 'cleanup']);
  expect(c.code, c.stderr).toBe(0);
  const out = JSON.parse(c.stdout) as { requeued: number; stale: Array<{ package: string; why: string; nodes: Array<{ ok: boolean }> }> };
  expect(out.requeued).toBe(1);
  expect(out.stale[0]).toMatchObject({ package: pkg, why: expect.stringMatching(/its orchestrator \(pid \d+\) is gone/) as unknown });
  expect(out.stale[0]!.nodes.every((n) => n.ok)).toBe(true);
  d = db();
  expect(d.prepare('SELECT claimed_at, manual, priority FROM schedule WHERE package = ?').get(pkg), `${pkg} requeued`).toEqual({ claimed_at: null, manual: 1, priority });
  expect(d.prepare('SELECT COUNT(*) AS n FROM builds WHERE package = ?').get(pkg)).toEqual({ n: 0 });
  d.close();
  for (const n of ['n1', 'n2']) {
    const w = farm.node(n).workdir;
    expect(existsSync(join(w, 'reproducible-builds', 'pending', 'bookworm', 'amd64', pkg, '1.0')), `${n} pending`).toBe(false);
    expect(existsSync(join(w, 'reproducible-builds', n, 'bookworm', 'amd64', pkg, '1.0')), `${n} work order`).toBe(false);
    const results = join(dir, 'state', 'results', n, 'bookworm', 'amd64', pkg);
    expect(existsSync(results) ? readdirSync(results).filter((f) => f.includes('.tmp-')) : [], `${n} half-fetched results`).toEqual([]);
  }
  await waitFor('the build processes on the nodes to be gone', () => nodeProcesses(new RegExp(`node-build.sh|sleep 60|${pkg}`)).length === 0, 10_000);
}

describe('interrupted orchestrators and cleanup', () => {
  it('SIGKILL during build 1, then cleanup', async () => {
    const pending = join(farm.node('n1').workdir, 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'slow-first', '1.0');
    await killDuring('slow-first', () => existsSync(pending) && nodeProcesses(/sleep 60/).length > 0, 'build 1 running on n1');
  }, 180_000);

  it('SIGKILL during the result transfer, then cleanup: no half-written result', async () => {
    const parent = join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'big');
    await killDuring('big', () => existsSync(parent) && readdirSync(parent).some((f) => f.includes('.tmp-')), 'transfer from n1');
    expect(existsSync(join(parent, '1.0'))).toBe(false);
  }, 240_000);

  it('SIGKILL during build 2, then cleanup; the package builds fine afterwards', async () => {
    const pending = join(farm.node('n2').workdir, 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'slow-second', '1.0');
    await killDuring('slow-second', () => existsSync(pending) && nodeProcesses(/sleep 60/).length > 0, 'build 2 running on n2');
    // the requeued package has the highest priority: it is built next, and this time it is not slow
    const again = await runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ package: 'slow-second', outcome: 'recorded', status: 'reproducible' });
  }, 300_000);

  it('cleanup leaves running builds alone', async () => {
    const c = await runCli(['--config', cfg, '--json', 'cleanup']);
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ requeued: 0 });
  });
});

describe('concurrency and timeouts', () => {
  it('two orchestrators on the same pair build two different packages', async () => {
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare("DELETE FROM schedule WHERE package NOT IN ('quick-a', 'quick-b')").run();
    w.close();
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'quick-a', 'quick-b', '--priority', '900'])).code).toBe(0);
    const [a, b] = await Promise.all([runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']), runCli(['--config', cfg, '--json', 'build', 'n1', 'n2'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const pkgs = [a, b].map((r) => (JSON.parse(r.stdout) as { package: string; status: string }));
    expect(pkgs.map((p) => p.package).sort()).toEqual(['quick-a', 'quick-b']);
    expect(pkgs.every((p) => p.status === 'reproducible')).toBe(true);
  }, 240_000);

  it('a build over its timeout is stopped with its whole process tree: status timeout', async () => {
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'endless', '--priority', '1000'])).code).toBe(0);
    const short = join(dir, 'short-timeout.yaml');
    writeFileSync(short, `${readFileSync(cfg, 'utf8')}\nbuild: { timeout_build1: 8 }\n`);
    const r = await runCli(['--config', short, '--json', 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: 'endless', status: 'timeout' });
    expect(nodeProcesses(/sleep 300/)).toEqual([]);
    expect(r.ms).toBeLessThan(120_000);
  }, 180_000);
});
