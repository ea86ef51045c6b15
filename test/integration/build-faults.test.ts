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
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { BIN, runCli } from '../helpers/cli.js';
import { assembleNodeScript } from '../../builder/node-script.js';

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
      { name: 'leaves-daemon', version: '1.0', buildScript: '(sleep 311 > /dev/null 2>&1 &)' },
      { name: 'quick-a', version: '1.0' },
      { name: 'quick-b', version: '1.0' },
    ],
  });
  server = await mirror.serve();
  dir = mkdtempSync(join(tmpdir(), 'rf-faults-'));
  chmodSync(dir, 0o755);
  // nodes whose sshd session dies at a chosen moment: a real dropped connection
  const wrapper = (name: string, trigger: string, once: boolean): string => {
    const f = join(dir, `${name}.sh`);
    writeFileSync(
      f,
      [
        '#!/bin/sh',
        `marker=/tmp/rf-dropped-${name}-${process.pid}-${Date.now()}`,
        `case "$SSH_ORIGINAL_COMMAND" in ${trigger})`,
        `  if ${once ? '[ ! -e "$marker" ]' : 'true'}; then`,
        '    : > "$marker"',
        "    # kill this connection's sshd process: the nearest sshd ancestor",
        '    p=$PPID',
        '    while [ "$p" -gt 1 ]; do',
        '      read -r line < "/proc/$p/stat" || break',
        '      case $line in *"(sshd)"*) kill -9 "$p"; sleep 5; break ;; esac',
        '      set -- ${line##*) }',
        '      p=$2',
        '    done',
        '  fi ;;',
        'esac',
        'case "$SSH_ORIGINAL_COMMAND" in internal-sftp|*sftp-server) exec /usr/lib/openssh/sftp-server ;; esac',
        'exec sh -c "$SSH_ORIGINAL_COMMAND"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return `/bin/sh ${f}`;
  };
  farm = await startSshFarm({
    nodes: [
      { name: 'n1' },
      { name: 'n2' },
      // the SFTP session that fetches the results (node-build.sh is put in place below: no SFTP session copies it)
      { name: 'drop-once', forceCommand: wrapper('drop-once', 'internal-sftp|*sftp-server', true) },
      { name: 'drop-always', forceCommand: wrapper('drop-always', 'internal-sftp|*sftp-server', false) },
      { name: 'drop-build', forceCommand: wrapper('drop-build', '*node-build.sh*', true) },
    ],
  });
  for (const n of ['drop-once', 'drop-always']) {
    mkdirSync(join(farm.node(n).workdir, 'bin'), { recursive: true });
    writeFileSync(join(farm.node(n).workdir, 'bin', 'reprofarm-node-build.sh'), assembleNodeScript());
  }
  const node = (name: string): string => {
    const n = farm.node(name);
    return [
      `  ${name}:`,
      `    host: ${n.host}`,
      `    port: ${n.port}`,
      `    user: ${farm.user}`,
      '    arch: amd64',
      `    identity_file: ${farm.identityFile}`,
      `    known_hosts: ${farm.knownHostsFile}`,
      `    workdir: ${n.workdir}`,
    ].join('\n');
  };
  cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(
    cfg,
    [
      'state_dir: ./state',
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      'architectures: [amd64]',
      'schedule: { max_per_arch: 0 }',
      'nodes:',
      node('n1'),
      node('n2'),
      node('drop-once'),
      node('drop-always'),
      node('drop-build'),
      'jobs:',
      '  pair: { nodes: [n1, n2] }',
    ].join('\n'),
  );
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
  expect(d.prepare('SELECT claimed_at, manual, priority FROM schedule WHERE package = ?').get(pkg), `${pkg} requeued`).toEqual({
    claimed_at: null,
    manual: 1,
    priority,
  });
  expect(d.prepare('SELECT COUNT(*) AS n FROM builds WHERE package = ?').get(pkg)).toEqual({ n: 0 });
  d.close();
  for (const n of ['n1', 'n2']) {
    const w = farm.node(n).workdir;
    expect(existsSync(join(w, 'reproducible-builds', 'pending', 'bookworm', 'amd64', pkg, '1.0')), `${n} pending`).toBe(false);
    expect(existsSync(join(w, 'reproducible-builds', n, 'bookworm', 'amd64', pkg, '1.0')), `${n} work order`).toBe(false);
    const results = join(dir, 'state', 'results', n, 'bookworm', 'amd64', pkg);
    expect(existsSync(results) ? readdirSync(results).filter((f) => f.includes('.tmp-')) : [], `${n} half-fetched results`).toEqual([]);
  }
  // (other test files build as the same node user at the same time: look for this package's build only)
  const mine = new RegExp(`node-build\\.sh [12] bookworm amd64 ${pkg} |^sleep 60$`);
  await waitFor(`the build processes on the nodes to be gone: ${nodeProcesses(mine).join(' | ')}`, () => nodeProcesses(mine).length === 0, 10_000);
}

describe('interrupted orchestrators and cleanup', () => {
  it('SIGKILL during build 1 (build 2 prepared on n2 meanwhile), then cleanup', async () => {
    const pending = join(farm.node('n1').workdir, 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'slow-first', '1.0');
    const prepared = join(farm.node('n2').workdir, 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'slow-first', '1.0.prepared');
    const tree2 = join(farm.node('n2').workdir, 'build', '2', 'slow-first-1.0', '2nd');
    await killDuring(
      'slow-first',
      () => existsSync(pending) && nodeProcesses(/^sleep 60$/).length > 0 && existsSync(prepared) && existsSync(tree2),
      'build 1 running on n1, build 2 prepared on n2',
    );
    expect(existsSync(prepared), 'n2 prepared marker').toBe(false);
    expect(existsSync(tree2), 'n2 unpacked tree').toBe(false);
  }, 180_000);

  it('SIGKILL during the result transfer, then cleanup: no half-written result', async () => {
    const parent = join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'big');
    await killDuring('big', () => existsSync(parent) && readdirSync(parent).some((f) => f.includes('.tmp-')), 'transfer from n1');
    expect(existsSync(join(parent, '1.0'))).toBe(false);
  }, 240_000);

  it('SIGKILL during build 2, then cleanup; the package builds fine afterwards', async () => {
    const pending = join(farm.node('n2').workdir, 'reproducible-builds', 'pending', 'bookworm', 'amd64', 'slow-second', '1.0');
    await killDuring('slow-second', () => existsSync(pending) && nodeProcesses(/^sleep 60$/).length > 0, 'build 2 running on n2');
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
    const pkgs = [a, b].map((r) => JSON.parse(r.stdout) as { package: string; status: string });
    expect(pkgs.map((p) => p.package).sort()).toEqual(['quick-a', 'quick-b']);
    expect(pkgs.every((p) => p.status === 'reproducible')).toBe(true);
  }, 240_000);

  it('what a build leaves running in the background is stopped when the build ends', async () => {
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'leaves-daemon', '--priority', '1000'])).code).toBe(0);
    const r = await runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: 'leaves-daemon', status: 'reproducible' });
    expect(nodeProcesses(/^sleep 311$/)).toEqual([]);
  }, 180_000);

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

describe('dropped connections and changed build dependencies', () => {
  async function scheduleOnly(pkg: string): Promise<void> {
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare('DELETE FROM schedule WHERE claimed_at IS NULL').run();
    w.close();
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', pkg])).code).toBe(0);
  }

  it('a connection dropped during the result transfer is retried once', async () => {
    await scheduleOnly('quick-a');
    const r = await runCli(['--config', cfg, '--json', 'build', 'drop-once', 'n2']);
    expect(r.code, r.stderr).toBe(0);
    // one retry, however many files were being sized or fetched side by side (the first SFTP session is dropped)
    expect(r.stderr.match(/retrying (?:reading the size of|fetching) \S+ from drop-once/g), r.stderr).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: 'quick-a', status: 'reproducible' });
  }, 120_000);

  it('dropped again after the retry: the build fails cleanly and goes back to the schedule', async () => {
    await scheduleOnly('quick-b');
    const r = await runCli(['--config', cfg, 'build', 'drop-always', 'n2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/quick-b 1\.0: given back to the schedule: connection to drop-always was lost during a file transfer/);
    expect(existsSync(join(dir, 'state', 'results', 'drop-always', 'bookworm', 'amd64', 'quick-b', '1.0'))).toBe(false);
    const d = db();
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'quick-b'").get()).toEqual({ claimed_at: null });
    d.close();
  }, 120_000);

  it('results larger than build.max_result_mb are not fetched: the claim goes back, nothing is half-written', async () => {
    await scheduleOnly('big');
    const small = join(dir, 'small-results.yaml');
    writeFileSync(small, `${readFileSync(cfg, 'utf8')}\nbuild: { max_result_mb: 5 }\n`);
    const r = await runCli(['--config', small, 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/big 1\.0: given back to the schedule: the results on n1 are \d+ bytes, more than build\.max_result_mb \(5 MiB\): not fetched/);
    const parent = join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'big');
    expect(existsSync(join(parent, '1.0'))).toBe(false);
    expect(existsSync(parent) ? readdirSync(parent) : []).toEqual([]);
    const d = db();
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'big'").get()).toEqual({ claimed_at: null });
    d.close();
  }, 180_000);

  it('a node lost during its build: the claim goes back to the schedule', async () => {
    await scheduleOnly('quick-b');
    const r = await runCli(['--config', cfg, 'build', 'drop-build', 'n2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/quick-b 1\.0: given back to the schedule: connection to drop-build was lost while a command ran/);
    const d = db();
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'quick-b'").get()).toEqual({ claimed_at: null });
    d.close();
  }, 120_000);

  it('build dependencies that differ between the builds: build 1 is redone once, then the build is not counted', async () => {
    await scheduleOnly('quick-b');
    const other = join(dir, 'changing-deps.yaml');
    // build 2 (the one with CAPTURE_ENVIRONMENT) reports one more installed build dependency
    const command =
      'dpkg-buildpackage -us -uc -b && if [ -n "${CAPTURE_ENVIRONMENT:-}" ]; then sed -i "s/^Installed-Build-Depends:$/Installed-Build-Depends:\\n extra-thing (= 1),/" ../*.buildinfo; fi';
    writeFileSync(other, `${readFileSync(cfg, 'utf8')}\nbuild: { command: ${JSON.stringify(command)} }\n`);
    const r = await runCli(['--config', other, 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/retrying build 1 \(the build dependencies differ between the builds\)/);
    expect(r.stderr.match(/build 1 on n1: built/g)).toHaveLength(2);
    expect(r.stderr).toMatch(/given back to the schedule: the build dependencies still differ between build 1 and build 2: not counted/);
    const d = db();
    expect(d.prepare("SELECT COUNT(*) AS n FROM builds WHERE package = 'quick-b'").get()).toEqual({ n: 1 });
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'quick-b'").get()).toEqual({ claimed_at: null });
    d.close();
  }, 180_000);

  it("kept connections (the worker's) carry the next build, and one that dropped while idle is made anew", async () => {
    const { loadConfig } = await import('../../core/config.js');
    const { openDb } = await import('../../db/index.js');
    const { buildNext, NodeConnections } = await import('../../builder/orchestrator.js');
    const { config } = loadConfig({ path: cfg });
    const farmDb = openDb(join(dir, 'state', 'reproducible.db'));
    const pair = { job: 'pair', node1: config.nodes.get('n1')!, node2: config.nodes.get('n2')! };
    // /proc/net/tcp rows: [local "ADDR:PORT", remote "ADDR:PORT", state, inode], ports in hex
    const tcp = (): Array<{ local: number; remote: number; state: string; inode: string }> =>
      readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length > 9)
        .map((f) => ({ local: parseInt(f[1]!.split(':')[1]!, 16), remote: parseInt(f[2]!.split(':')[1]!, 16), state: f[3]!, inode: f[9]! }));
    const socketsOf = (pid: string): Set<string> => {
      const out = new Set<string>();
      for (const fd of (() => {
        try {
          return readdirSync(`/proc/${pid}/fd`);
        } catch {
          return [];
        }
      })()) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m?.[1]) out.add(m[1]);
        } catch {
          // closed meanwhile
        }
      }
      return out;
    };
    // this process's established connections to a node's sshd: their local ports
    const conns = (port: number): number[] => {
      const mine = socketsOf('self');
      return tcp()
        .filter((r) => r.state === '01' && r.remote === port && mine.has(r.inode))
        .map((r) => r.local);
    };
    // the node side of one of those connections goes away, as when the node's sshd restarts: kill the sshd processes holding it
    const dropOnNode = (port: number, localPort: number): void => {
      const inodes = new Set(
        tcp()
          .filter((r) => r.local === port && r.remote === localPort)
          .map((r) => r.inode),
      );
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        if ([...socketsOf(pid)].some((i) => inodes.has(i))) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
        }
      }
    };
    const connections = new NodeConnections();
    try {
      await scheduleOnly('quick-a');
      const first = await buildNext(config, farmDb, pair, { connections });
      expect(first).toMatchObject({ kind: 'recorded', status: 'reproducible' });
      const open1 = conns(farm.node('n1').port);
      expect(open1, 'one connection to n1 stays open').toHaveLength(1);
      await scheduleOnly('quick-b');
      const second = await buildNext(config, farmDb, pair, { connections });
      expect(second).toMatchObject({ kind: 'recorded', status: 'reproducible' });
      // the same connection: the same local port towards n1, and no other
      expect(conns(farm.node('n1').port), 'the kept connection to n1').toEqual(open1);
      // n1's side of the kept connection goes away (the node's sshd restarted, say): the next build connects anew
      for (const local of open1) dropOnNode(farm.node('n1').port, local);
      await new Promise((r) => setTimeout(r, 300));
      expect(conns(farm.node('n1').port), 'the dropped connection is gone').toEqual([]);
      await scheduleOnly('quick-a');
      const third = await buildNext(config, farmDb, pair, { connections });
      expect(third).toMatchObject({ kind: 'recorded', status: 'reproducible' });
    } finally {
      await connections.close();
      farmDb.close();
    }
  }, 180_000);
});
