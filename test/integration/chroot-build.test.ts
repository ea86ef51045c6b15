/**
 * The chroot backend end to end, on two real sshd nodes, with chroots made
 * from the real Debian archive (the mirror apt uses on this machine, read at
 * run time from its sources list) and shared by the tests of one run:
 * real `hello` synced from the real bookworm and built twice (reproducible);
 * from a loopback mirror, a package whose Build-Depends cannot be satisfied
 * (depwait, the unmet dependency recorded), one that needs a build dependency
 * the buildd chroot lacks but the archive has (installed, built, compared),
 * and a probe that writes what it saw of each variation into its .deb.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEBIAN_KEYRING, debianMirror, installSharedChroot, sharedChroot } from '../harness/debian-mirror.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { runCli } from '../helpers/cli.js';

const ARCH = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();

// what the probe saw, one KEY=VALUE per line, written into its .deb
const PROBE = String.raw`
u=$(id -un)
{
  echo "user=$u uid=$(id -u) gid=$(id -g)"
  echo "gecos=$(getent passwd "$u" | cut -d: -f5)"
  echo "shell=$(getent passwd "$u" | cut -d: -f7)"
  echo "binsh=$(readlink /bin/sh)"
  echo "nice=$(nice)"
  echo "uname=$(uname -r)"
  echo "dbo=$DEB_BUILD_OPTIONS"
  echo "host=$(cat /proc/sys/kernel/hostname)"
  echo "domain=$(cat /proc/sys/kernel/domainname)"
  echo "year=$(date +%Y)"
  echo "tz=$TZ"
  echo "lang=$LANG"
  echo "locales=$(locale -a | tr '\n' ' ')"
  echo "pwd=$(pwd)"
  echo "home=$HOME"
  echo "path=$PATH"
  echo "umask=$(umask)"
  # a folder read twice: the same order unless disorderfs shuffles it
  mkdir order && for i in $(seq 1 40); do : > order/f$i; done
  echo "order_a=$(ls -f order | tr '\n' ' ')"
  echo "order_b=$(ls -f order | tr '\n' ' ')"
} > build/probe.txt
`;

let farm: SshFarm;
let mirror: TestMirror;
let server: MirrorServer;
let dir: string;

const SSH_NODES = (): [string, string, string] => [farm.nodesYaml(), 'n01', 'n02'];

function config(name: string, mirrorUrl: string, keyring: string, jobVariations = '', [nodesYaml, n1, n2] = SSH_NODES()): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `state_dir: ${join(dir, name, 'state')}`,
      `site_dir: ${join(dir, name, 'public')}`,
      `mirror: ${mirrorUrl}`,
      `mirror_keyring: ${keyring}`,
      'suites: [bookworm]',
      `architectures: [${ARCH}]`,
      nodesYaml,
      'jobs:',
      `  j: { nodes: [${n1}, ${n2}]${jobVariations} }`,
      'build: { backend: chroot }',
      `chroot: { mirror: ${debianMirror()}, keyring: ${DEBIAN_KEYRING} }`,
      // nothing scheduled by policy: only what a test asks for
      'schedule: { max_per_arch: 0 }',
      '',
    ].join('\n'),
  );
  return file;
}

async function cli(cfg: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['--config', cfg, ...args]);
}

async function buildOne(cfg: string, pkg: string, nodes = ['n01', 'n02']): Promise<Record<string, unknown>> {
  const s = await cli(cfg, 'schedule', 'bookworm', ARCH, pkg);
  expect(s.code, s.stderr).toBe(0);
  const r = await cli(cfg, '--json', 'build', ...nodes);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** KEY=VALUE lines of the probe file in the .deb a build of rf-probe made. */
function probeOf(cfg: string, node: string): Record<string, string> {
  const deb = join(dir, cfg, 'state', 'results', node, 'bookworm', ARCH, 'rf-probe', '1.0', `rf-probe_1.0_${ARCH}.deb`);
  const text = execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO ./usr/share/rf-probe/probe.txt', deb], { encoding: 'utf8' });
  return Object.fromEntries(text.split('\n').flatMap((l) => (l.includes('=') ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rf-chroot-'));
  const chroot = await sharedChroot('bookworm', ARCH);
  farm = await startSshFarm({ nodes: 2 });
  // hard links: the tarball is made once per run, not per node
  for (const n of farm.nodes) installSharedChroot(chroot, n.workdir);
  mirror = await createTestMirror();
  await mirror.writeSuite({
    suite: 'bookworm',
    packages: [
      { name: 'rf-unmet', version: '1.0', buildDepends: 'reprofarm-no-such-package (>= 2)' },
      { name: 'rf-zlib', version: '1.0', buildDepends: 'zlib1g-dev', buildScript: 'test -f /usr/include/zlib.h' },
      { name: 'rf-probe', version: '1.0', buildScript: PROBE },
    ],
  });
  server = await mirror.serve();
}, 1_200_000);

afterAll(async () => {
  await server?.close();
  await mirror?.cleanup();
  await farm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the chroot backend on two sshd nodes', () => {
  it('builds real hello from the real bookworm twice, in fresh chroots: reproducible', async () => {
    // hello prints a copyright year it takes from the build's clock: the date variation alone makes
    // it unreproducible (issue 18 names such culprits), so this pair keeps the real clock
    const cfg = config('real', debianMirror(), DEBIAN_KEYRING, ', variations: { build2: { DATE: real } }');
    const c = await cli(cfg, 'collect');
    expect(c.code, c.stderr).toBe(0);
    const s = await cli(cfg, 'sync');
    expect(s.code, s.stderr).toBe(0);
    const out = await buildOne(cfg, 'hello');
    expect(out, JSON.stringify(out)).toMatchObject({ package: 'hello', status: 'reproducible' });
  }, 1_200_000);

  describe('packages of a loopback mirror, built in the real chroot', () => {
    let cfg: string;
    beforeAll(async () => {
      cfg = config('loop', server.url, mirror.keyring);
      for (const cmd of ['collect', 'sync']) {
        const r = await cli(cfg, cmd);
        expect(r.code, r.stderr).toBe(0);
      }
    }, 300_000);

    it('Build-Depends that cannot be satisfied: depwait, with the unmet dependency recorded', async () => {
      const out = await buildOne(cfg, 'rf-unmet');
      expect(out).toMatchObject({ package: 'rf-unmet', status: 'depwait' });
      const db = new Database(join(dir, 'loop', 'state', 'reproducible.db'), { readonly: true });
      const row = db.prepare("SELECT status, unmet, reason FROM builds WHERE package = 'rf-unmet'").get() as { status: string; unmet: string; reason: string };
      db.close();
      expect(row.status).toBe('depwait');
      expect(row.unmet).toMatch(/reprofarm-no-such-package \(>= 2\) but it is not installable/);
      // and shown: on the package page, in reproducible.json, and the chroots on nodes.html
      const r = await cli(cfg, 'site');
      expect(r.code, r.stderr).toBe(0);
      const site = join(dir, 'loop', 'public');
      const page = readFileSync(join(site, 'rb-pkg', 'bookworm', ARCH, 'rf-unmet.html'), 'utf8');
      expect(page).toMatch(/<dt>unmet build dependencies<\/dt><dd class="unmet">[^<]*reprofarm-no-such-package \(&gt;= 2\)/);
      const json = JSON.parse(readFileSync(join(site, 'reproducible.json'), 'utf8')) as Record<string, unknown>[];
      expect(json.find((x) => x.package === 'rf-unmet')).toMatchObject({ status: 'depwait', unmet: row.unmet });
      expect(readFileSync(join(site, 'nodes.html'), 'utf8')).toMatch(new RegExp(`bookworm/${ARCH}: made`));
    }, 600_000);

    it('a build dependency the buildd chroot lacks is installed from the archive, and the builds compared', async () => {
      const out = await buildOne(cfg, 'rf-zlib');
      expect(out, JSON.stringify(out)).toMatchObject({ package: 'rf-zlib', status: 'reproducible' });
    }, 600_000);

    it('every variation reaches the build inside the chroot, or is recorded as not applied with why', async () => {
      const out = await buildOne(cfg, 'rf-probe');
      expect(out).toMatchObject({ package: 'rf-probe', status: 'FTBR' });
      const [p1, p2] = [probeOf('loop', 'n01'), probeOf('loop', 'n02')];
      expect(p1).toMatchObject({
        user: 'pbuilder1 uid=1111 gid=1111',
        gecos: 'first user,first room,first work-phone,first home-phone',
        shell: '/bin/sh',
        binsh: 'dash',
        nice: '10',
        tz: 'Etc/GMT+12',
        lang: 'C',
        pwd: '/build/1st/rf-probe-1.0',
        home: '/nonexistent/first-build',
        path: '/usr/sbin:/usr/bin:/sbin:/bin',
        umask: '0022',
      });
      expect(p1.uname).not.toMatch(/^2\.6/);
      expect(p1.dbo).not.toMatch(/nocheck/);
      expect(p1.host).not.toBe('i-capture-the-hostname');
      expect(p2).toMatchObject({
        user: 'pbuilder2 uid=2222 gid=2222',
        gecos: 'second user,second room,second work-phone,second home-phone',
        shell: '/bin/bash',
        binsh: 'bash',
        nice: '11',
        host: 'i-capture-the-hostname',
        domain: 'i-capture-the-domain',
        tz: 'Etc/GMT-14',
        lang: 'et_EE.UTF-8',
        pwd: '/build/2/rf-probe-1.0/2nd',
        home: '/nonexistent/second-build',
        path: '/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path',
        umask: '0002',
      });
      expect(p1.order_a).toBe(p1.order_b);
      expect(p2.uname).toMatch(/^2\.6\./);
      expect(p2.dbo).toMatch(/nocheck/);
      expect(p2.locales).toMatch(/et_EE\.utf8/);
      expect(Number(p2.year)).toBeGreaterThan(Number(p1.year));
      // what could not be applied says why; for FUSE the node user cannot open /dev/fuse here (root only)
      const db = new Database(join(dir, 'loop', 'state', 'reproducible.db'), { readonly: true });
      const runs = db
        .prepare("SELECT r.build_number AS n, r.not_applied AS na FROM build_runs r JOIN builds b ON b.id = r.build_id WHERE b.package = 'rf-probe' ORDER BY n")
        .all() as Array<{ n: number; na: string }>;
      db.close();
      expect(JSON.parse(runs[0]!.na)).toEqual({});
      const na2 = JSON.parse(runs[1]!.na) as Record<string, string>;
      const fuseWorks = statSync('/dev/fuse').mode & 0o006;
      if (fuseWorks) expect(na2).toEqual({});
      else {
        expect(Object.keys(na2)).toEqual(['FILEORDERING']);
        expect(na2.FILEORDERING).toMatch(/cannot open \/dev\/fuse/);
      }
    }, 600_000);

    it('root nodes: disorderfs shuffles the build tree, though the workdir is under a 0700 folder', async () => {
      // the test's own folder is 0700 (mkdtemp): disorderfs reads as the build user, who cannot enter it
      expect(statSync(dir).mode & 0o077).toBe(0);
      const locals = ['nodes:', '  l1: { transport: local }', '  l2: { transport: local }'].join('\n');
      const lcfg = config('root', server.url, mirror.keyring, '', [locals, 'l1', 'l2']);
      const chroot = await sharedChroot('bookworm', ARCH);
      for (const n of ['l1', 'l2']) installSharedChroot(chroot, join(dir, 'root', 'state', 'nodes', n));
      for (const cmd of ['collect', 'sync']) {
        const r = await cli(lcfg, cmd);
        expect(r.code, r.stderr).toBe(0);
      }
      const out = await buildOne(lcfg, 'rf-probe', ['l1', 'l2']);
      expect(out, JSON.stringify(out)).toMatchObject({ package: 'rf-probe', status: 'FTBR' });
      const [p1, p2] = [probeOf('root', 'l1'), probeOf('root', 'l2')];
      expect(p1.order_a).toBe(p1.order_b);
      expect(p2.order_a?.split(' ').sort()).toEqual(p2.order_b?.split(' ').sort());
      expect(p2.order_a).not.toBe(p2.order_b);
      expect(p2).toMatchObject({ user: 'pbuilder2 uid=2222 gid=2222', pwd: '/build/2/rf-probe-1.0/2nd' });
      const db = new Database(join(dir, 'root', 'state', 'reproducible.db'), { readonly: true });
      const na = db
        .prepare(
          "SELECT r.variations AS v, r.not_applied AS na FROM build_runs r JOIN builds b ON b.id = r.build_id WHERE b.package = 'rf-probe' AND r.build_number = 2",
        )
        .get() as { v: string; na: string };
      db.close();
      expect(JSON.parse(na.na)).toEqual({});
      expect(JSON.parse(na.v)).toMatchObject({ FILEORDERING: 'disorderfs --shuffle-dirents' });
    }, 600_000);

    it("a node's own fault (here a corrupt chroot) gives the claim back and marks that node degraded, not the package", async () => {
      // a file of its own in place of the shared hard link
      const tarball = join(farm.node('n02').workdir, 'chroots', `bookworm-${ARCH}.tar.zst`);
      rmSync(tarball);
      writeFileSync(tarball, 'not a tarball');
      const s = await cli(cfg, 'schedule', 'bookworm', ARCH, 'rf-zlib');
      expect(s.code, s.stderr).toBe(0);
      const r = await cli(cfg, '--json', 'build', 'n01', 'n02');
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(out, r.stderr).toMatchObject({ outcome: 'requeued' });
      expect(String(out.reason)).toMatch(/does not unpack.*chroot update n02/);
      const db = new Database(join(dir, 'loop', 'state', 'reproducible.db'), { readonly: true });
      const node = db.prepare("SELECT health, health_reason FROM nodes WHERE name = 'n02'").get() as { health: string; health_reason: string };
      const builds = db.prepare("SELECT COUNT(*) AS n FROM builds WHERE package = 'rf-zlib'").get() as { n: number };
      db.close();
      expect(node.health).toBe('degraded');
      expect(node.health_reason).toMatch(/does not unpack/);
      expect(builds.n).toBe(1);
    }, 600_000);
  });
});
