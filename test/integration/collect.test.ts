/**
 * `reprofarm collect` over real OpenSSH sshd nodes on loopback: many nodes at
 * once, and every way a node can fail, each one data and none of them stopping
 * the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pickFreePorts, silentTcpServer, startSshFarm, stuckSshServer, type SshFarm } from '../harness/sshd.js';
import { BIN, runCli } from '../helpers/cli.js';
import { spawn, spawnSync } from 'node:child_process';
import { REQUIRED_FACTS, parseNodeInformation } from '../../collector/facts.js';
import { MIGRATIONS } from '../../db/migrations.js';

interface JsonNode {
  node: string;
  ok: boolean;
  health: string;
  reason: string | null;
  advice: string | null;
  error_kind: string | null;
  duration_ms: number;
  clock_offset_s: number | null;
  file: string | null;
  facts: Record<string, string> | null;
}
interface JsonOut {
  collected: number;
  failed: number;
  degraded: number;
  total: number;
  nodes: JsonNode[];
}

const GOOD = ['g01', 'g02', 'g03', 'g04', 'g05', 'g06', 'g07', 'g08', 'g09', 'g10', 'g11', 'g12'];
let scripts: string;
let farm: SshFarm;
let silent: { port: number; close(): Promise<void> };
// nodes that log in and then hang: the session is never confirmed, or the command never answered
const stuck = new Map<'stuck-session' | 'stuck-exec', Awaited<ReturnType<typeof stuckSshServer>>>();
let closedPort: number;

function script(name: string, body: string): string {
  const f = join(scripts, `${name}.sh`);
  writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return `/bin/sh ${f}`;
}

beforeAll(async () => {
  scripts = mkdtempSync(join(tmpdir(), 'rf-collect-scripts-'));
  chmodSync(scripts, 0o755);
  farm = await startSshFarm({
    nodes: [
      ...GOOD.map((name) => ({ name })),
      { name: 'garbage', forceCommand: script('garbage', "printf 'ARCH=amd64\\nthis is not a fact\\nHOSTNAME=\\033[31mred\\n'") },
      { name: 'binary', forceCommand: script('binary', "printf '\\377\\376ARCH=amd64\\n'; head -c 2000 /dev/urandom") },
      { name: 'huge', forceCommand: script('huge', 'yes ARCH=amd64 | head -c 5000000') },
      { name: 'hang', forceCommand: script('hang', 'exec sleep 600') },
      { name: 'dropped', forceCommand: script('dropped', 'read -r _ _ _ session _ < /proc/$PPID/stat; kill -9 "$session"') },
      { name: 'failing', forceCommand: script('failing', 'echo "info: something broke" >&2; exit 3') },
      { name: 'ahead', forceCommand: script('ahead', 'exec faketime "+398 days" /bin/sh -c "$SSH_ORIGINAL_COMMAND"') },
      { name: 'hashed' },
      { name: 'changed' },
      { name: 'unknown' },
    ],
  });
  silent = await silentTcpServer();
  stuck.set('stuck-session', await stuckSshServer('session'));
  stuck.set('stuck-exec', await stuckSshServer('exec'));
  for (const [name, srv] of stuck) writeFileSync(join(scripts, `${name}_known_hosts`), srv.knownHostsLine);
  [closedPort] = (await pickFreePorts(1)) as [number];
  // the changed node's known_hosts holds another key; the unknown node's holds none
  writeFileSync(
    join(scripts, 'changed_known_hosts'),
    `[127.0.0.1]:${farm.node('changed').port} ${farm.hostPublicKey.split(' ')[0]} AAAAC3NzaC1lZDI1NTE5AAAAIBd6Xo1Wn9Gw6rBw4o8c3gq0cEbV4jD6Q4k8Jx9y1q1X\n`,
  );
  writeFileSync(join(scripts, 'unknown_known_hosts'), '');
  await farm.writeHashedKnownHosts(join(scripts, 'hashed_known_hosts'));
}, 120_000);

afterAll(async () => {
  await farm?.stop();
  await silent?.close();
  for (const srv of stuck.values()) await srv.close();
  if (scripts) rmSync(scripts, { recursive: true, force: true });
});

function nodeYaml(name: string, over: Partial<{ port: number; known_hosts: string; host: string }> = {}): string {
  const n = ['closed', 'silent', 'stuck-session', 'stuck-exec'].includes(name) ? { host: '127.0.0.1', port: 0, workdir: '/tmp' } : farm.node(name);
  return [
    `  ${name}:`,
    `    host: ${over.host ?? n.host}`,
    `    port: ${over.port ?? n.port}`,
    `    user: ${farm.user}`,
    `    identity_file: ${farm.identityFile}`,
    `    known_hosts: ${over.known_hosts ?? farm.knownHostsFile}`,
    `    workdir: ${n.workdir}`,
  ].join('\n');
}

function writeConfig(dir: string, nodes: string[], extra = ''): string {
  const f = join(dir, 'reprofarm.yaml');
  writeFileSync(f, `state_dir: ./state\n${extra}nodes:\n${nodes.join('\n')}\n`);
  return f;
}

function newDir(): string {
  return mkdtempSync(join(tmpdir(), 'rf-collect-'));
}

describe('reprofarm collect over real sshd', () => {
  it('collects many nodes at once and writes files and DB rows', async () => {
    const dir = newDir();
    const cfg = writeConfig(
      dir,
      GOOD.map((n) => nodeYaml(n)),
    );
    const r = await runCli(['--config', cfg, '--json', 'collect', '--concurrency', '6']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as JsonOut;
    expect(out).toMatchObject({ collected: 12, failed: 0, total: 12 });
    expect(r.stderr).toMatch(/^Collected 12\/12 nodes in \d+\.\d s$/m);
    expect(r.stderr.match(/^\[\s*\d+\/12\] g\d\d: (ok|degraded)/gm)).toHaveLength(12);
    for (const name of GOOD) {
      const text = readFileSync(join(dir, 'state', 'node-information', name), 'utf8');
      const facts = parseNodeInformation(text);
      for (const k of REQUIRED_FACTS) expect(facts.has(k), `${name} ${k}`).toBe(true);
      expect(facts.get('HOSTNAME')).toBe(hostname());
      expect(facts.get('USER')).toBe(farm.user);
      expect(facts.get('WORKDIR')).toBe(farm.node(name).workdir);
      expect(facts.get('WORKDIR_WRITABLE')).toBe('yes');
      expect(facts.get('NODE')).toBe(name);
      expect(Math.abs(Number(facts.get('CLOCK_OFFSET_S')))).toBeLessThan(5);
      expect(text.endsWith(`HEALTH=${facts.get('HEALTH')}\n`)).toBe(true);
    }
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM collections WHERE ok = 1').get()).toEqual({ n: 12 });
    expect(db.prepare('SELECT COUNT(DISTINCT collection_id) AS n FROM facts').get()).toEqual({ n: 12 });
    expect(db.prepare("SELECT value FROM facts JOIN collections c ON c.id = collection_id WHERE c.node = 'g01' AND key = 'ARCH'").get()).toEqual({
      value: expect.stringMatching(/^[a-z0-9-]+$/) as unknown,
    });
    expect(
      (db.prepare('SELECT health FROM nodes ORDER BY name').all() as { health: string }[]).every((n) => n.health === 'ok' || n.health === 'degraded'),
    ).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('treats every failing node as data: reasons, exit 2, others collected, old files kept', async () => {
    const dir = newDir();
    const failing = ['garbage', 'binary', 'huge', 'hang', 'dropped', 'failing'];
    const cfg = writeConfig(dir, [
      ...['g01', 'g02', 'g03'].map((n) => nodeYaml(n)),
      ...failing.map((n) => nodeYaml(n)),
      nodeYaml('changed', { known_hosts: join(scripts, 'changed_known_hosts') }),
      nodeYaml('unknown', { known_hosts: join(scripts, 'unknown_known_hosts') }),
      nodeYaml('closed', { port: closedPort }),
      nodeYaml('silent', { port: silent.port }),
      ...[...stuck].map(([name, srv]) => nodeYaml(name, { port: srv.port, known_hosts: join(scripts, `${name}_known_hosts`) })),
    ]);
    // a previous good collection of each failing node must survive
    const infoDir = join(dir, 'state', 'node-information');
    mkdirSync(infoDir, { recursive: true });
    for (const n of [...failing, 'changed', 'silent']) writeFileSync(join(infoDir, n), `ARCH=amd64\nNODE=${n}\n`);
    const t0 = performance.now();
    const r = await runCli(['--config', cfg, '--json', 'collect', '--timeout', '4']);
    const wall = performance.now() - t0;
    expect(r.code, r.stderr).toBe(2);
    const out = JSON.parse(r.stdout) as JsonOut;
    const by = new Map(out.nodes.map((n) => [n.node, n]));
    expect(out).toMatchObject({ collected: 3, failed: 12, total: 15 });
    for (const n of ['g01', 'g02', 'g03']) expect(by.get(n)?.ok).toBe(true);
    const expectations: Record<string, [string, RegExp]> = {
      garbage: ['degraded', /output rejected: line 2: not KEY=VALUE: "this is not a fact"; line 3: value of HOSTNAME contains control characters/],
      binary: ['degraded', /output rejected: output is not valid UTF-8/],
      huge: ['degraded', /printed more than 65536 bytes/],
      hang: ['unreachable', /did not finish within 4 s|no answer within 4 s/],
      dropped: ['unreachable', /lost while a command ran|dropped|closed/],
      failing: ['degraded', /exited with code 3: "info: something broke"/],
      changed: ['unreachable', /HOST KEY CHANGED for \[127\.0\.0\.1\]:\d+: the node offered ssh-ed25519 SHA256:/],
      unknown: ['unreachable', /host key of \[127\.0\.0\.1\]:\d+ is not in .*unknown_known_hosts/],
      closed: ['unreachable', /connection refused by 127\.0\.0\.1:\d+/],
      silent: ['unreachable', /did not complete the SSH handshake within 4 s|no answer within 4 s/],
      'stuck-session': ['unreachable', /did not finish within 4 s/],
      'stuck-exec': ['unreachable', /did not finish within 4 s/],
    };
    for (const [node, [health, re]] of Object.entries(expectations)) {
      const n = by.get(node);
      expect(n?.ok, node).toBe(false);
      expect(n?.health, node).toBe(health);
      expect(n?.reason, node).toMatch(re);
      expect(r.stderr, node).toContain(`  ${node}: `);
    }
    expect(by.get('changed')?.advice).toMatch(
      /ssh-keygen -R '\[127\.0\.0\.1\]:\d+' -f .*changed_known_hosts && ssh-keyscan -t ssh-ed25519 -p \d+ 127\.0\.0\.1 >>/,
    );
    expect(by.get('unknown')?.advice).toMatch(/ssh-keyscan -t ssh-ed25519 -p \d+ 127\.0\.0\.1 >> .*unknown_known_hosts/);
    // the hung nodes were given up on at the deadline, not held
    expect(by.get('hang')!.duration_ms).toBeLessThan(6000);
    expect(by.get('silent')!.duration_ms).toBeLessThan(6000);
    expect(by.get('stuck-session')!.duration_ms).toBeLessThan(6000);
    expect(by.get('stuck-exec')!.duration_ms).toBeLessThan(6000);
    expect(wall).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/^Collected 3\/15 nodes \(12 failed\) in \d+\.\d s$/m);
    // nothing from the garbage reached the terminal raw
    expect(r.stderr).not.toContain('\x1b[31m');
    for (const n of [...failing, 'changed', 'silent']) expect(readFileSync(join(infoDir, n), 'utf8')).toBe(`ARCH=amd64\nNODE=${n}\n`);
    expect(existsSync(join(infoDir, 'closed'))).toBe(false);
    expect(readdirSync(infoDir).filter((f) => f.startsWith('.'))).toEqual([]);
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    const rows = db.prepare('SELECT name, health, health_reason FROM nodes').all() as { name: string; health: string; health_reason: string }[];
    expect(rows).toHaveLength(15);
    expect(rows.find((x) => x.name === 'closed')).toMatchObject({ health: 'unreachable', health_reason: expect.stringMatching(/refused/) as unknown });
    expect(db.prepare('SELECT COUNT(*) AS n FROM facts JOIN collections c ON c.id = collection_id WHERE c.ok = 0').get()).toEqual({ n: 0 });
    db.close();
  });

  it('records a node running 398 days ahead as a clock offset, not an error', async () => {
    const dir = newDir();
    const cfg = writeConfig(dir, [nodeYaml('ahead'), nodeYaml('g01')]);
    const r = await runCli(['--config', cfg, '--json', 'collect']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as JsonOut;
    const ahead = out.nodes.find((n) => n.node === 'ahead')!;
    expect(ahead.ok).toBe(true);
    expect(Math.abs(ahead.clock_offset_s! - 398 * 86400)).toBeLessThan(120);
    expect(r.stderr).toMatch(/ahead: (ok|degraded).*clock \+\d+/);
    const facts = parseNodeInformation(readFileSync(join(dir, 'state', 'node-information', 'ahead'), 'utf8'));
    expect(Number(facts.get('CLOCK_OFFSET_S'))).toBeGreaterThan(397 * 86400);
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    const row = db.prepare("SELECT clock_offset_s FROM nodes WHERE name = 'ahead'").get() as { clock_offset_s: number };
    expect(row.clock_offset_s).toBeGreaterThan(397 * 86400);
    db.close();
  });

  it('accepts hashed known_hosts entries', async () => {
    const dir = newDir();
    const cfg = writeConfig(dir, [nodeYaml('hashed', { known_hosts: join(scripts, 'hashed_known_hosts') })]);
    expect(readFileSync(join(scripts, 'hashed_known_hosts'), 'utf8')).toMatch(/^\|1\|/);
    const r = await runCli(['--config', cfg, 'collect']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'state', 'node-information', 'hashed'))).toBe(true);
  });

  it('concurrent collect runs never corrupt files or the DB', async () => {
    const dir = newDir();
    const names = GOOD.slice(0, 8);
    const cfg = writeConfig(
      dir,
      names.map((n) => nodeYaml(n)),
    );
    const runs = await Promise.all([1, 2, 3, 4].map(() => runCli(['--config', cfg, '--quiet', 'collect'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const infoDir = join(dir, 'state', 'node-information');
    expect(readdirSync(infoDir).sort()).toEqual(names);
    for (const n of names) {
      const text = readFileSync(join(infoDir, n), 'utf8');
      expect(text.startsWith('INFO_VERSION=1\n')).toBe(true);
      expect(text).toMatch(/\nHEALTH=(ok|degraded)\n$/);
      expect(text.match(/^ARCH=/gm)).toHaveLength(1);
    }
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT COUNT(*) AS n FROM collections').get()).toEqual({ n: 32 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
    db.close();
  });

  it('an interrupted run records the nodes it finished, not the ones it stopped; a node named twice is collected once', async () => {
    const dir = newDir();
    const cfg = writeConfig(dir, [
      nodeYaml('g01'),
      nodeYaml('g02'),
      nodeYaml('hang'),
      nodeYaml('stuck-exec', { port: stuck.get('stuck-exec')!.port, known_hosts: join(scripts, 'stuck-exec_known_hosts') }),
    ]);
    const child = spawn(process.execPath, [BIN, '--config', cfg, '--json', 'collect', '--timeout', '120', 'g01', 'g02', 'g01', 'hang', 'stuck-exec'], {
      env: { ...process.env, REPROFARM_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const bothGood = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/\] g01: ok/.test(stderr) && /\] g02: ok/.test(stderr)) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await bothGood;
    // the two hung nodes are in their command now; the operator stops the run
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(performance.now() - t0, 'an interrupt is not held up by the hung nodes').toBeLessThan(5000);
    expect(code, stderr).toBe(2);
    const out = JSON.parse(stdout) as JsonOut;
    expect(out.nodes.map((n) => n.node).sort()).toEqual(['g01', 'g02', 'hang', 'stuck-exec']);
    for (const n of ['hang', 'stuck-exec']) {
      expect(out.nodes.find((x) => x.node === n)).toMatchObject({
        ok: false,
        error_kind: 'aborted',
        reason: 'the collection was interrupted before this node finished',
      });
    }
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    expect(db.prepare('SELECT node, COUNT(*) AS n FROM collections GROUP BY node ORDER BY node').all()).toEqual([
      { node: 'g01', n: 1 },
      { node: 'g02', n: 1 },
    ]);
    db.close();
    expect(readdirSync(join(dir, 'state', 'node-information')).sort()).toEqual(['g01', 'g02']);
  });

  it('on a terminal, draws a progress bar in place of the per-node lines', () => {
    if (!existsSync('/usr/bin/script')) throw new Error('/usr/bin/script is missing: apt-get install --no-install-recommends bsdutils');
    const dir = newDir();
    const cfg = writeConfig(dir, [nodeYaml('g01'), nodeYaml('g02'), nodeYaml('closed', { port: closedPort })]);
    const q = (a: string): string => `'${a.replace(/'/g, "'\\''")}'`;
    // script(1) runs the CLI on a pseudo-terminal: stderr is a TTY there
    const cmd = [process.execPath, BIN, '--config', cfg, 'collect'].map(q).join(' ');
    const r = spawnSync('/usr/bin/script', ['-q', '-e', '-c', cmd, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, REPROFARM_CONFIG: '', COLUMNS: '100' },
      timeout: 60_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    const tty = r.stdout;
    // eslint-disable-next-line no-control-regex
    expect(tty).toMatch(/\r\[[#.]+\] 3\/3 \S+\x1b\[K/);
    // the failure is still a line of its own, the good nodes are only in the bar
    expect(tty).toMatch(/\] closed: FAILED, unreachable: connection refused/);
    expect(tty).not.toMatch(/\] g01: ok/);
    expect(tty).toMatch(/Collected 2\/3 nodes \(1 failed\) in \d+\.\d s/);
  });

  it('prunes facts older than the retention period', async () => {
    const dir = newDir();
    const cfg = writeConfig(dir, [nodeYaml('g01')]);
    expect((await runCli(['--config', cfg, 'collect'])).code).toBe(0);
    const dbFile = join(dir, 'state', 'reproducible.db');
    const db = new Database(dbFile);
    db.prepare("UPDATE collections SET started_at = '2020-01-01T00:00:00.000Z'").run();
    db.close();
    const r = await runCli(['--config', cfg, '--verbose', 'collect']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pruned 1 collection\(s\) older than 14 days/);
    const db2 = new Database(dbFile, { readonly: true });
    expect(db2.prepare('SELECT COUNT(*) AS n FROM collections').get()).toEqual({ n: 1 });
    expect(db2.prepare("SELECT COUNT(*) AS n FROM collections WHERE started_at < '2021'").get()).toEqual({ n: 0 });
    db2.close();
  });
});
