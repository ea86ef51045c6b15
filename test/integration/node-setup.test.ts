/**
 * reprofarm node-setup over real sshd: --apply as root creates the build user,
 * its workdir and a forced-command key; through that key collect and a real
 * build work, and everything else is refused by builder/node-wrapper.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { opensshArgs, SSH, startSshFarm, type SshFarm } from '../harness/sshd.js';
import { runCli } from '../helpers/cli.js';

const USERS = ['rfwrap1', 'rfwrap2'];
let farm: SshFarm;
let mirror: TestMirror;
let server: MirrorServer;
let dir: string;
let cfg: string;
let lib: string;
const workdir = (n: string): string => join(farm.dir, 'wrap', n, 'workdir');

function userdel(u: string): void {
  spawnSync('userdel', [u], { encoding: 'utf8' });
}

beforeAll(async () => {
  for (const u of USERS) userdel(u); // left over from an interrupted run
  mirror = await createTestMirror();
  await mirror.writeSuite({
    suite: 'bookworm',
    packages: [
      { name: 'wrapped', version: '1.0' },
      { name: 'tilde', version: '1.0~rc1' },
    ],
  });
  server = await mirror.serve();
  farm = await startSshFarm({ nodes: [{ name: 'n1' }, { name: 'n2' }], admin: true, allowUsers: USERS });
  lib = join(farm.dir, 'lib');
  dir = mkdtempSync(join(tmpdir(), 'rf-node-setup-'));
  const node = (name: string, like: string, user: string): string => {
    const n = farm.node(like);
    return [
      `  ${name}:`,
      `    host: ${n.host}`,
      `    port: ${n.port}`,
      `    user: ${user}`,
      '    arch: amd64',
      `    identity_file: ${farm.identityFile}`,
      `    known_hosts: ${farm.knownHostsFile}`,
      `    workdir: ${workdir(name)}`,
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
      'nodes:',
      node('w1', 'n1', 'rfwrap1'),
      node('w2', 'n2', 'rfwrap2'),
      '  here: { transport: local }',
      'jobs:',
      '  reproducible_build_wrapped: { nodes: [w1, w2] }',
      'build: { diffoscope_timeout: 300 }',
      '',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
  for (const u of USERS) userdel(u);
});

/** run a command as the build user through the forced-command key, with the real OpenSSH client */
function asBuildUser(user: string, node: string, command: string | null, input = ''): { code: number | null; stdout: string; stderr: string } {
  const args = opensshArgs({ ...farm, user }, farm.node(node));
  const r = spawnSync(SSH, command === null ? ['-T', ...args] : [...args, command], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('reprofarm node-setup', () => {
  it('prints the set-up script and the forced-command line', async () => {
    const r = await runCli(['--config', cfg, 'node-setup', 'w1', '--lib-dir', lib]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(spawnSync('sh', ['-n'], { input: r.stdout }).status, 'the script parses').toBe(0);
    // what the chroot backend needs
    expect(r.stdout).toContain('for p in mmdebstrap uidmap faketime disorderfs fuse3 zstd; do');
    expect(r.stdout).toContain('apt-get install -y -qq --no-install-recommends $missing');
    expect(r.stdout).toContain('subid_range "$BUILD_USER" /etc/subuid --add-subuids');
    const line = `restrict,command="${lib}/node-wrapper.sh w1 ${workdir('w1')}" ssh-ed25519 `;
    expect(r.stderr).toContain(line);
    const j = await runCli(['--config', cfg, '--json', 'node-setup', 'w1', '--lib-dir', lib]);
    expect((JSON.parse(j.stdout) as { authorized_keys_line: string }).authorized_keys_line.startsWith(line)).toBe(true);
    const h = await runCli(['node-setup', '--help']);
    expect(h.stdout).toMatch(/--apply +run the script on the node over SSH as the admin user \(default: print it on stdout\)/);
    expect(h.stdout).toMatch(/--lib-dir DIR +.*\(default: \/usr\/local\/lib\/reprofarm\)/);
    expect((await runCli(['--config', cfg, 'node-setup', 'w3'])).code).toBe(64);
    expect((await runCli(['--config', cfg, 'node-setup', 'w1', '--aply'])).code).toBe(64);
    const local = await runCli(['--config', cfg, 'node-setup', 'here']);
    expect(local.code).toBe(1);
    expect(local.stderr).toMatch(/here is a local node/);
  });

  it('--apply as root sets up the user, its workdir and the restricted key; again changes nothing', async () => {
    for (const n of ['w1', 'w2', 'w1']) {
      const r = await runCli(['--config', cfg, 'node-setup', n, '--apply', '--admin-identity', farm.adminIdentityFile!, '--lib-dir', lib]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`Set up ${n}: `));
    }
    const ak = readFileSync(join(lib, 'home', 'rfwrap1', '.ssh', 'authorized_keys'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(ak).toHaveLength(1);
    expect(ak[0]).toMatch(new RegExp(`^restrict,command="${lib}/node-wrapper\\.sh w1 ${workdir('w1')}" ssh-ed25519 \\S+ reprofarm@`));
    for (const f of ['node-wrapper.sh', 'info.sh', 'node-build.sh']) expect(statSync(join(lib, f)).uid, f).toBe(0);
    expect(statSync(join(lib, 'node-wrapper.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(lib, 'home', 'rfwrap1')).uid, "the home is root's").toBe(0);
    expect(statSync(workdir('w1')).uid, "the workdir is the build user's").not.toBe(0);
    // the chroot backend's user namespaces: one range of 65536 ids each, overlapping no other (applied twice: still one)
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      const ranges = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(':'))
        .map(([user = '', start = '', count = '']) => ({ user, start: Number(start), end: Number(start) + Number(count) }));
      for (const u of USERS) {
        const mine = ranges.filter((r) => r.user === u);
        expect(mine, `${file} ${u}`).toHaveLength(1);
        expect(mine[0]!.end - mine[0]!.start).toBe(65536);
        for (const other of ranges.filter((r) => r.user !== u)) {
          expect(mine[0]!.start >= other.end || mine[0]!.end <= other.start, `${file}: ${u} overlaps ${other.user}`).toBe(true);
        }
      }
    }
  });

  it('through the forced-command key, collect and a real build work', async () => {
    const c = await runCli(['--config', cfg, '--json', 'collect', 'w1', 'w2']);
    expect(c.code, c.stderr).toBe(0);
    const co = JSON.parse(c.stdout) as { collected: number; nodes: Array<{ node: string; facts: Record<string, string> }> };
    expect(co.collected).toBe(2);
    expect(co.nodes.find((n) => n.node === 'w1')?.facts.USER).toBe('rfwrap1');
    expect(co.nodes.find((n) => n.node === 'w1')?.facts.WORKDIR_WRITABLE).toBe('yes');
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    const seen: string[] = [];
    for (let i = 0; i < 2; i++) {
      const b = await runCli(['--config', cfg, '--json', 'build', 'w1', 'w2']);
      expect(b.code, b.stderr).toBe(0);
      const o = JSON.parse(b.stdout) as { outcome: string; package: string; version: string; status: string };
      expect(o, b.stderr).toMatchObject({ outcome: 'recorded', status: 'reproducible' });
      seen.push(`${o.package} ${o.version}`);
    }
    expect(seen.sort()).toEqual(['tilde 1.0~rc1', 'wrapped 1.0']);
  }, 300_000);

  it('refuses everything else, with a message and a non-zero exit', () => {
    const w = workdir('w1');
    const rel = 'bookworm/amd64/wrapped/1.0';
    // a symlink the build user could plant to reach outside the workdir
    const outside = mkdtempSync(join(tmpdir(), 'rf-outside-'));
    mkdirSync(join(outside, '1.0'));
    writeFileSync(join(outside, '1.0', 'SHA256SUMS'), 'secret\n');
    mkdirSync(join(w, 'reproducible-results', 'w1', 'bookworm', 'amd64'), { recursive: true });
    symlinkSync(outside, join(w, 'reproducible-results', 'w1', 'bookworm', 'amd64', 'evil'));
    const refused: Array<[string | null, string?]> = [
      [null],
      ['id'],
      ['cat /etc/passwd'],
      ['sh -c id'],
      ["sh -c 'cat /etc/passwd'"],
      ['sh -s -- /', 'id\n'],
      [`sh -s -- ${w}`, 'id\n'],
      ['rm -rf /'],
      [`rm -rf ${w}`],
      [`rm -rf ${w}/reproducible-results/w1/${rel}/../../../../../..`],
      [`rm -rf ${w}/reproducible-results/w1/${rel} /etc`],
      ['sha256sum /etc/shadow'],
      [`cat ${w}/reproducible-results/w1/${rel}/SHA256SUMS; id`],
      [`cat ${w}/reproducible-results/w1/${rel}/SHA256SUMS && id`],
      [`cat ${w}/reproducible-results/w1/${rel}/SHA256SUMS | id`],
      ['cat $(id)'],
      ['cat `id`'],
      [`sha256sum ${w}/bin/reprofarm-node-build.sh\nid`],
      [`cat ${w}/reproducible-results/w1/bookworm/amd64/evil/1.0/SHA256SUMS`],
      [`cat ${w}/reproducible-results/w2/${rel}/SHA256SUMS`],
      [`env REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh /tmp/evil.sh 1 bookworm amd64 wrapped 1.0`],
      [`env REPROFARM_NODE=w1 REPROFARM_WORKDIR=/ sh ${w}/bin/reprofarm-node-build.sh 1 bookworm amd64 wrapped 1.0`],
      [`env REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh ${w}/bin/reprofarm-node-build.sh 1 bookworm amd64 ../../etc 1.0`],
      [`env REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh ${w}/bin/reprofarm-node-build.sh 1 bookworm amd64 wrapped '1.0;id'`],
      [`env REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh ${w}/bin/reprofarm-node-build.sh 1 bookworm amd64 wrapped "$(id)"`],
      [`env LD_PRELOAD=/tmp/x.so REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh ${w}/bin/reprofarm-node-build.sh 1 bookworm amd64 wrapped 1.0`],
      [`mkdir -p /tmp/x`],
      [`mv -f /etc/passwd ${w}/bin/reprofarm-node-build.sh`],
    ];
    for (const [cmd, input] of refused) {
      const r = asBuildUser('rfwrap1', 'n1', cmd, input ?? '');
      const what = JSON.stringify(cmd);
      expect(r.code, what).not.toBe(0);
      expect(r.stderr, what).toMatch(/reprofarm-wrapper: refused: /);
      expect(r.stdout, what).not.toMatch(/uid=|root:|secret/);
    }
    // what reprofarm itself sends still works
    const ok = asBuildUser('rfwrap1', 'n1', `sha256sum ${w}/bin/reprofarm-node-build.sh`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^[0-9a-f]{64} /);
    // a node-build.sh in the workdir that is not the installed one is not run
    appendFileSync(join(w, 'bin', 'reprofarm-node-build.sh'), 'id\n');
    const tampered = asBuildUser(
      'rfwrap1',
      'n1',
      `env REPROFARM_NODE=w1 REPROFARM_WORKDIR=${w} sh ${w}/bin/reprofarm-node-build.sh cleanup bookworm amd64 wrapped 1.0`,
    );
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/differs from the installed node-build\.sh/);
    expect(tampered.stdout).not.toMatch(/uid=/);
  }, 120_000);
});
