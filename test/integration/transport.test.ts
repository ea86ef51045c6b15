/** The two transports against real processes: OpenSSH sshd on loopback, and local child processes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeConfig } from '../../core/config.js';
import { LocalTransport } from '../../core/local-transport.js';
import { connectSsh } from '../../core/ssh-transport.js';
import { TransportError } from '../../core/transport.js';
import { startSshFarm, stuckSshServer, type SshFarm } from '../harness/sshd.js';

let farm: SshFarm;
let dir: string;

function nodeConfig(over: Partial<NodeConfig> = {}): NodeConfig {
  const n = farm.node('t1');
  return {
    name: 't1',
    transport: 'ssh',
    host: n.host,
    port: n.port,
    user: farm.user,
    identityFile: farm.identityFile,
    knownHosts: farm.knownHostsFile,
    arch: undefined,
    offline: false,
    workdir: n.workdir,
    ...over,
  };
}

beforeAll(async () => {
  farm = await startSshFarm({ nodes: [{ name: 't1' }] });
  dir = mkdtempSync(join(tmpdir(), 'rf-transport-'));
}, 60_000);
afterAll(async () => {
  await farm?.stop();
});

describe('ssh transport (real sshd)', () => {
  it('runs argv commands with quoting, stdin and exit codes', async () => {
    const t = await connectSsh(nodeConfig(), { timeoutMs: 10_000 });
    try {
      const echo = await t.exec(['printf', '%s|', 'a b', "it's", '$HOME', '; rm -rf /']);
      expect(echo).toMatchObject({ code: 0, timedOut: false, truncated: false });
      expect(echo.stdout.toString()).toBe("a b|it's|$HOME|; rm -rf /|");
      const cat = await t.exec(['sh', '-c', 'cat; echo err >&2; exit 7'], { stdin: 'hello' });
      expect(cat.code).toBe(7);
      expect(cat.stdout.toString()).toBe('hello');
      expect(cat.stderr.toString()).toBe('err\n');
    } finally {
      t.close();
    }
  });

  it('stops a command at its timeout and caps its output', async () => {
    const t = await connectSsh(nodeConfig(), { timeoutMs: 10_000 });
    try {
      const slow = await t.exec(['sleep', '30'], { timeoutMs: 500 });
      expect(slow).toMatchObject({ code: null, timedOut: true });
      expect(slow.durationMs).toBeLessThan(5000);
      const big = await t.exec(['sh', '-c', 'yes | head -c 1000000'], { maxOutputBytes: 1000 });
      expect(big).toMatchObject({ code: null, truncated: true });
      expect(big.stdout.length).toBe(1000);
    } finally {
      t.close();
    }
  });

  it('copies files both ways over SFTP', async () => {
    const t = await connectSsh(nodeConfig(), { timeoutMs: 10_000 });
    try {
      const src = join(dir, 'src.bin');
      writeFileSync(src, Buffer.alloc(300_000, 7));
      const remote = join(farm.node('t1').workdir, 'copy.bin');
      await t.put(src, remote);
      await t.get(remote, join(dir, 'back.bin'));
      expect(readFileSync(join(dir, 'back.bin')).equals(readFileSync(src))).toBe(true);
      await expect(t.get('/nonexistent/file', join(dir, 'x'))).rejects.toThrow(/copying t1:\/nonexistent\/file/);
    } finally {
      t.close();
    }
  });

  it('refuses a wrong user key with advice, and an unreadable key file', async () => {
    const other = join(dir, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    await expect(connectSsh(nodeConfig({ identityFile: other }), { timeoutMs: 10_000 })).rejects.toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/authentication failed for rfnode@127\.0\.0\.1:\d+ with key .*other_key/) as unknown,
    });
    await expect(connectSsh(nodeConfig({ identityFile: join(dir, 'missing') }), { timeoutMs: 10_000 })).rejects.toMatchObject({ kind: 'key-file' });
  });

  it('refuses a revoked host key', async () => {
    const kh = join(dir, 'revoked_known_hosts');
    writeFileSync(kh, `@revoked [127.0.0.1]:${farm.node('t1').port} ${farm.hostPublicKey}\n[127.0.0.1]:${farm.node('t1').port} ${farm.hostPublicKey}\n`);
    const err = await connectSsh(nodeConfig({ knownHosts: kh }), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('hostkey-revoked');
  });

  it('reports a connection dropped under a running command', async () => {
    const t = await connectSsh(nodeConfig(), { timeoutMs: 10_000 });
    try {
      // kill this session's sshd process from inside the session
      const r = t.exec(['sh', '-c', 'read -r _ _ _ s _ < /proc/$PPID/stat; kill -9 "$s"; sleep 5']);
      await expect(r).rejects.toMatchObject({ kind: 'dropped' });
    } finally {
      t.close();
    }
  });
});

/** Node processes whose command line is exactly `cmd` (the farm's node user runs them). */
function processesRunning(cmd: string): string[] {
  const r = spawnSync('pgrep', ['-a', '-x', '-f', cmd], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

async function waitUntil(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ssh transport: stopping commands', () => {
  it('a command stopped at its timeout or by an abort is killed on the node too', async () => {
    const t = await connectSsh(nodeConfig(), { timeoutMs: 10_000 });
    try {
      const slow = await t.exec(['sleep', '31.7'], { timeoutMs: 500 });
      expect(slow).toMatchObject({ code: null, timedOut: true });
      await waitUntil(`"sleep 31.7" to be gone: ${processesRunning('sleep 31.7').join(' | ')}`, () => processesRunning('sleep 31.7').length === 0, 5000);
      // an abort resolves at once (code null, not a timeout), and the command is killed
      const ac = new AbortController();
      const started = performance.now();
      const aborted = t.exec(['sleep', '31.8'], { signal: ac.signal });
      await waitUntil('"sleep 31.8" to start', () => processesRunning('sleep 31.8').length > 0, 5000);
      ac.abort();
      await expect(aborted).resolves.toMatchObject({ code: null, timedOut: false });
      expect(performance.now() - started).toBeLessThan(5000);
      await waitUntil(`"sleep 31.8" to be gone: ${processesRunning('sleep 31.8').join(' | ')}`, () => processesRunning('sleep 31.8').length === 0, 5000);
      // the connection carries the next command
      expect((await t.exec(['true'])).code).toBe(0);
    } finally {
      t.close();
    }
  });

  it.each(['session', 'exec'] as const)(
    'a node that logs in, then never answers the %s request: the timeout and an abort still end the command',
    async (stuckAt) => {
      const srv = await stuckSshServer(stuckAt);
      try {
        const kh = join(dir, `stuck-${stuckAt}_known_hosts`);
        writeFileSync(kh, srv.knownHostsLine);
        const t = await connectSsh(nodeConfig({ port: srv.port, knownHosts: kh }), { timeoutMs: 10_000 });
        const started = performance.now();
        const r = await t.exec(['true'], { timeoutMs: 500 });
        expect(r).toMatchObject({ code: null, timedOut: true });
        expect(performance.now() - started).toBeLessThan(3000);
        if (stuckAt === 'session') {
          // the session was never confirmed: the connection is given up
          expect(t.isOpen()).toBe(false);
          await expect(t.exec(['true'])).rejects.toMatchObject({ kind: 'dropped' });
        } else {
          t.close();
        }
        const again = await connectSsh(nodeConfig({ port: srv.port, knownHosts: kh }), { timeoutMs: 10_000 });
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 300);
        await expect(again.exec(['true'], { signal: ac.signal })).resolves.toMatchObject({ code: null, timedOut: false });
        again.close();
      } finally {
        await srv.close();
      }
    },
  );
});

describe('local transport', () => {
  it('runs commands and kills the whole process tree at the timeout', async () => {
    const t = new LocalTransport('l1');
    const ok = await t.exec(['sh', '-c', 'cat; exit 4'], { stdin: 'x' });
    expect(ok).toMatchObject({ code: 4, timedOut: false });
    expect(ok.stdout.toString()).toBe('x');
    const marker = join(dir, 'grandchild-ran');
    const slow = await t.exec(['sh', '-c', `(sleep 2; touch ${marker}) & wait`], { timeoutMs: 300 });
    expect(slow).toMatchObject({ code: null, timedOut: true });
    await new Promise((r) => setTimeout(r, 2500));
    expect(existsSync(marker)).toBe(false);
    await expect(t.exec(['/nonexistent/cmd'])).rejects.toThrow(/cannot run \/nonexistent\/cmd on local node l1/);
  });

  it('copies files, creating directories', async () => {
    const t = new LocalTransport('l1');
    const src = join(dir, 'l-src');
    writeFileSync(src, 'data');
    await t.put(src, join(dir, 'a', 'b', 'dst'));
    expect(readFileSync(join(dir, 'a', 'b', 'dst'), 'utf8')).toBe('data');
  });
});
