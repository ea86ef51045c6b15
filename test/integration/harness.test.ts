/**
 * Proves the sshd test harness works with the real OpenSSH client: two sshd
 * processes (20 nodes > 16 ports per sshd), pubkey login as the node user,
 * per-node ForceCommand, plain and hashed known_hosts, clean shutdown.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load as parseYaml } from 'js-yaml';
import { type FarmNode, type SshFarm, SSH, hashKnownHostsName, opensshArgs, silentTcpServer, startSshFarm } from '../harness/sshd.js';

const execFileP = promisify(execFile);

/** Run the real ssh client against a farm node; resolves with stdout. */
async function ssh(farm: SshFarm, node: FarmNode, command: string, knownHostsFile?: string): Promise<string> {
  const args = [...opensshArgs(farm, node, knownHostsFile ? { knownHostsFile } : {}), command];
  const { stdout } = await execFileP(SSH, args, { encoding: 'utf8', timeout: 20_000 });
  return stdout;
}

/** true if something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('sshd farm harness', () => {
  let farm: SshFarm;

  beforeAll(async () => {
    const nodes = [
      ...Array.from({ length: 19 }, (_, i) => ({ name: `n${String(i + 1).padStart(2, '0')}` })),
      { name: 'forced', forceCommand: 'echo forced:$SSH_ORIGINAL_COMMAND' },
    ];
    farm = await startSshFarm({ nodes });
  });

  afterAll(async () => {
    await farm?.stop();
  });

  it('describes 20 distinct nodes served by two sshd processes', async () => {
    expect(farm.nodes).toHaveLength(20);
    expect(new Set(farm.nodes.map((n) => n.port)).size).toBe(20);
    expect(farm.node('n01').port).toBe(farm.nodes[0]?.port);
    expect(() => farm.node('nope')).toThrow(/no such farm node/);
    expect(farm.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
    expect((await fs.readdir(farm.dir)).filter((f) => /^sshd-\d+\.conf$/.test(f)).sort()).toEqual(['sshd-0.conf', 'sshd-1.conf']);
    const kh = (await fs.readFile(farm.knownHostsFile, 'utf8')).trim().split('\n');
    expect(kh).toHaveLength(20);
    expect(kh[0]).toBe(`[127.0.0.1]:${farm.nodes[0]?.port} ${farm.hostPublicKey}`);
  });

  it('lets the real ssh client log in to the first and the last node', async () => {
    // nodes[19] is the ForceCommand node (tested below), so the last plain one is nodes[18]; both sshd
    for (const node of [farm.nodes[0], farm.nodes[18]]) {
      if (!node) throw new Error('missing node');
      const [user, cwd] = (await ssh(farm, node, 'id -un; pwd')).trim().split('\n');
      expect(user).toBe('rfnode');
      expect(cwd).toMatch(/^\//);
    }
  });

  it('gives each node a workdir writable by the node user', async () => {
    const node = farm.node('n19');
    const out = await ssh(farm, node, `cd ${node.workdir} && touch probe && ls`);
    expect(out.trim()).toBe('probe');
    expect(existsSync(path.join(node.workdir, 'probe'))).toBe(true);
  });

  it('applies a per-node ForceCommand with $SSH_ORIGINAL_COMMAND', async () => {
    const forced = farm.node('forced');
    expect(farm.nodes[19]).toBe(forced); // the last node: lives in the second sshd
    expect((await ssh(farm, forced, 'hello')).trim()).toBe('forced:hello');
    // ...and only on that node
    expect((await ssh(farm, farm.node('n17'), 'echo plain')).trim()).toBe('plain');
  });

  it('writes hashed known_hosts that the ssh client accepts', async () => {
    const hashed = path.join(farm.dir, 'known_hosts.hashed');
    await farm.writeHashedKnownHosts(hashed);
    const lines = (await fs.readFile(hashed, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(20);
    for (const line of lines) expect(line).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 AAAA/);
    expect(lines.join('\n')).not.toContain('127.0.0.1');

    const node = farm.node('n05');
    expect((await ssh(farm, node, 'id -un', hashed)).trim()).toBe('rfnode');

    // a hashed file for a different port must make StrictHostKeyChecking fail
    const wrong = path.join(farm.dir, 'known_hosts.wrong');
    await fs.writeFile(wrong, `${hashKnownHostsName('[127.0.0.1]:1')} ${farm.hostPublicKey}\n`);
    await expect(ssh(farm, node, 'true', wrong)).rejects.toThrow(/Host key verification failed/);
  });

  it('renders a nodes: YAML mapping', () => {
    const doc = parseYaml(farm.nodesYaml()) as { nodes: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.nodes)).toHaveLength(20);
    const n01 = farm.node('n01');
    expect(doc.nodes.n01).toEqual({
      host: '127.0.0.1',
      port: n01.port,
      user: 'rfnode',
      identity_file: farm.identityFile,
      known_hosts: farm.knownHostsFile,
      workdir: n01.workdir,
    });
  });

  it('provides a silent TCP server that never speaks', async () => {
    const srv = await silentTcpServer();
    const received = await new Promise<number>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: srv.port });
      let bytes = 0;
      s.on('data', (d: Buffer) => (bytes += d.length));
      s.on('error', () => {});
      setTimeout(() => {
        s.destroy();
        resolve(bytes);
      }, 300);
    });
    expect(received).toBe(0);
    await srv.close();
    expect(await portOpen(srv.port)).toBe(false);
  });

  it('stop() kills every sshd and removes the farm dir', async () => {
    const ports = farm.nodes.map((n) => n.port);
    const dir = farm.dir;
    await farm.stop();
    await farm.stop(); // idempotent
    expect(existsSync(dir)).toBe(false);
    const open = await Promise.all(ports.map(portOpen));
    expect(open.every((o) => !o)).toBe(true);
  });
});

describe('startSshFarm with a node count', () => {
  it('names nodes n01, n02, ... and cleans up', async () => {
    const farm = await startSshFarm({ nodes: 3 });
    try {
      expect(farm.nodes.map((n) => n.name)).toEqual(['n01', 'n02', 'n03']);
      const out = await ssh(farm, farm.node('n03'), 'id -un');
      expect(out.trim()).toBe('rfnode');
    } finally {
      await farm.stop();
    }
    expect(existsSync(farm.dir)).toBe(false);
  });
});
