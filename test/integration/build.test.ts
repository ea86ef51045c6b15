/**
 * Reproducible remote building over real sshd nodes with real
 * dpkg-buildpackage: packages the test builds into a signed mirror, each
 * unreproducible one FTBR because of exactly its variation, one FTBFS, one
 * reproducible; then faults: an unreachable node, a .dsc that changed on the
 * mirror, an artifact altered on the node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestMirror, type MirrorServer, type SourcePackageSpec, type TestMirror } from '../harness/mirror.js';
import { pickFreePorts, startSshFarm, type SshFarm } from '../harness/sshd.js';
import { runCli } from '../helpers/cli.js';
import { serveSite } from '../../site/serve.js';

let mirror: TestMirror;
let server: MirrorServer;
let farm: SshFarm;
let dir: string;
let cfg: string;
let closedPort: number;

/** each unreproducible package embeds exactly one thing a variation changes */
const PACKAGES: Array<SourcePackageSpec & { expect: 'reproducible' | 'FTBR' | 'FTBFS'; diff?: RegExp }> = [
  { name: 'repro', version: '1.0', expect: 'reproducible' },
  { name: 'embed-date', version: '1.0', buildScript: 'date -u +%Y > build/year.txt', expect: 'FTBR', diff: /^\s*│.*-20\d\d\n.*\+20\d\d/m },
  { name: 'embed-tz', version: '1.0', buildScript: 'date +%z > build/tz.txt', expect: 'FTBR', diff: /-1200[\s\S]*\+1400/ },
  { name: 'embed-locale', version: '1.0', buildScript: 'printf "%s\\n" "${LANG:-}" > build/lang.txt', expect: 'FTBR', diff: /et_EE\.UTF-8/ },
  { name: 'embed-hostname', version: '1.0', buildScript: 'hostname > build/host.txt', expect: 'FTBR', diff: /i-capture-the-hostname/ },
  {
    name: 'embed-term',
    version: '1.0',
    buildScript: 'printf "%s %s\\n" "${TERM:-none}" "${COLUMNS:-none}" > build/term.txt',
    expect: 'FTBR',
    diff: /linux 77/,
  },
  { name: 'embed-path', version: '1.0', buildScript: 'pwd > build/path.txt', expect: 'FTBR', diff: /\/2\/embed-path-1\.0\/2nd/ },
  { name: 'ftbfs', version: '1.0', buildScript: 'echo "this package does not build" >&2; exit 1', expect: 'FTBFS' },
];
/** built only by the later tests */
const EXTRA: SourcePackageSpec[] = [
  { name: 'tarball-changed', version: '1.0' },
  { name: 'local-repro', version: '1.0' },
];

beforeAll(async () => {
  mirror = await createTestMirror();
  await mirror.writeSuite({ suite: 'bookworm', packages: [...PACKAGES.map(({ expect: _e, diff: _d, ...p }) => p), ...EXTRA] });
  server = await mirror.serve();
  dir = mkdtempSync(join(tmpdir(), 'rf-build-'));
  chmodSync(dir, 0o755);
  // n3 alters every .deb it built after node-build.sh is done (a bad disk, or an attacker)
  const alter = join(dir, 'alter.sh');
  writeFileSync(
    alter,
    '#!/bin/sh\ncase "$SSH_ORIGINAL_COMMAND" in internal-sftp|*sftp-server) exec /usr/lib/openssh/sftp-server ;; esac\nsh -c "$SSH_ORIGINAL_COMMAND"; rc=$?\ncase "$SSH_ORIGINAL_COMMAND" in *node-build.sh*) find "$HOME" /tmp -path "*reproducible-results*" -name "*.deb" -exec sh -c \'printf x >> "$1"\' sh {} \\; 2>/dev/null ;; esac\nexit $rc\n',
    { mode: 0o755 },
  );
  farm = await startSshFarm({ nodes: [{ name: 'n1' }, { name: 'n2' }, { name: 'n3', forceCommand: `/bin/sh ${alter}` }] });
  [closedPort] = (await pickFreePorts(1)) as [number];
  const node = (name: string, over: { port?: number; like?: string } = {}): string => {
    const n = farm.node(over.like ?? name);
    return [
      `  ${name}:`,
      `    host: ${n.host}`,
      `    port: ${over.port ?? n.port}`,
      `    user: ${farm.user}`,
      `    arch: amd64`,
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
      'schedule: { max_per_arch: 100 }',
      'blacklist: [tarball-changed, local-repro]',
      'nodes:',
      node('n1'),
      node('n2'),
      node('n3'),
      node('down', { port: closedPort, like: 'n1' }),
      'jobs:',
      '  reproducible_build_amd64_1: { nodes: [n1, n2] }',
      'build: { diffoscope_timeout: 300 }',
    ].join('\n'),
  );
  const r = await runCli(['--config', cfg, 'sync']);
  if (r.code !== 0) throw new Error(r.stderr);
  // every result is signed from the first on
  const k = await runCli(['--config', cfg, 'key', 'init']);
  if (k.code !== 0) throw new Error(k.stderr);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
});

function db(): Database.Database {
  return new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
}

describe('reprofarm build NODE1 NODE2 over real sshd', () => {
  it('builds every package twice on two nodes and finds each unreproducible one by its variation', async () => {
    const seen = new Map<string, { status: string; reason: string | null; report: string | null }>();
    for (let i = 0; i < PACKAGES.length; i++) {
      const r = await runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { outcome: string; package: string; status: string; reason: string | null; report: string | null; job: string };
      expect(out.outcome, r.stderr).toBe('recorded');
      expect(out.job).toBe('reproducible_build_amd64_1');
      seen.set(out.package, out);
    }
    for (const p of PACKAGES) {
      const got = seen.get(p.name);
      expect(got?.status, `${p.name}: ${got?.reason ?? ''}`).toBe(p.expect);
      if (p.diff) {
        expect(got?.report, p.name).toBeTruthy();
        const text = readFileSync(got!.report!, 'utf8');
        expect(text, p.name).toMatch(p.diff);
        expect(existsSync(got!.report!.replace(/\.txt$/, '.html'))).toBe(true);
      }
    }
    const idle = await runCli(['--config', cfg, 'build', 'n1', 'n2']);
    expect(idle.code).toBe(0);
    expect(idle.stderr).toMatch(/Nothing to build for reproducible_build_amd64_1: nothing scheduled for amd64/);

    const d = db();
    // one row per single build, with the node, the duration and the variations actually applied
    const runs = d
      .prepare(
        `SELECT b.package, r.build_number, r.node, r.duration, r.exit_code, r.result, r.variations, r.not_applied
      FROM build_runs r JOIN builds b ON b.id = r.build_id WHERE b.package = 'embed-hostname' ORDER BY r.build_number`,
      )
      .all() as Array<Record<string, unknown>>;
    expect(runs.map((r) => [r.build_number, r.node, r.exit_code, r.result])).toEqual([
      [1, 'n1', 0, 'built'],
      [2, 'n2', 0, 'built'],
    ]);
    const v1 = JSON.parse(runs[0]!.variations as string) as Record<string, string>;
    const v2 = JSON.parse(runs[1]!.variations as string) as Record<string, string>;
    expect(v1).toMatchObject({
      TZ: 'Etc/GMT+12',
      LANG: 'C',
      TERM: 'unset',
      COLUMNS: 'unset',
      UMASK: '0022',
      HOME: '/nonexistent/first-build',
      DATE: 'real clock',
    });
    // the node's own domain name, "unset" where Linux says "(none)" (as info.sh reports it)
    const domain = readFileSync('/proc/sys/kernel/domainname', 'utf8').trim();
    expect(v1.DOMAINNAME).toBe(domain === '(none)' || domain === '' ? 'unset' : domain);
    expect(v2).toMatchObject({
      TZ: 'Etc/GMT-14',
      LANG: 'et_EE.UTF-8',
      TERM: 'linux',
      COLUMNS: '77',
      UMASK: '0002',
      HOSTNAME: 'i-capture-the-hostname',
      DOMAINNAME: 'i-capture-the-domain',
      CAPTURE_ENVIRONMENT: 'I capture the environment',
      HOME: '/nonexistent/second-build',
    });
    expect(v2.DATE).toMatch(/^faketime \+398 days \+6 hours \+23 minutes/);
    expect(v2.BUILD_PATH).toMatch(/\/build\/2\/embed-hostname-1\.0\/2nd$/);
    expect(Number(v2.PARALLEL)).not.toBe(Number(v1.PARALLEL));
    // FTBFS: build 1 only, with its log fetched
    const ftbfs = d.prepare("SELECT status, node1, node2, job, build_duration FROM results WHERE package = 'ftbfs'").get() as Record<string, unknown>;
    expect(ftbfs).toMatchObject({ status: 'FTBFS', node1: 'n1', node2: 'n2', job: 'reproducible_build_amd64_1' });
    expect(readFileSync(join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'ftbfs', '1.0', 'build.log'), 'utf8')).toMatch(/this package does not build/);
    expect(d.prepare('SELECT COUNT(*) AS n FROM schedule').get()).toEqual({ n: 0 });
    expect(d.prepare('SELECT COUNT(*) AS n FROM builds').get()).toEqual({ n: PACKAGES.length });
    d.close();
    // nothing left behind on the nodes: no pending entries or prepared builds, no work orders, no build trees
    // (n2 prepared the FTBFS package's build 2 while build 1 failed: that was cleaned too)
    for (const n of ['n1', 'n2']) {
      const w = farm.node(n).workdir;
      const { execFileSync } = await import('node:child_process');
      const left = execFileSync('find', [join(w, 'reproducible-builds'), join(w, 'build'), '-type', 'f'], { encoding: 'utf8' });
      expect(
        left
          .split('\n')
          .filter(Boolean)
          .map((f) => f.slice(w.length)),
        n,
      ).toEqual([]);
    }
    // history is kept: build one package again
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'repro'])).code).toBe(0);
    expect((await runCli(['--config', cfg, 'build', 'n1', 'n2'])).code).toBe(0);
    const d2 = db();
    expect(d2.prepare("SELECT COUNT(*) AS n FROM builds WHERE package = 'repro'").get()).toEqual({ n: 2 });
    d2.close();
  }, 600_000);

  it("signs every result: the site publishes each version's attestations, and verify checks them and the .debs", async () => {
    expect((await runCli(['--config', cfg, 'site'])).code).toBe(0);
    const site = join(dir, 'public');
    const verify = async (file: string, where = site) => {
      const r = await runCli(['--config', cfg, '--json', 'verify', file, '--site', where]);
      return {
        code: r.code,
        out: JSON.parse(r.stdout) as {
          ok: boolean;
          reason?: string;
          file?: { builds: number[] };
          statement?: { subject: unknown[]; predicate: { package: string; status: string; builds: unknown[] } };
        },
        stderr: r.stderr,
      };
    };
    for (const p of PACKAGES) {
      const file = join(site, 'attestations', 'bookworm', 'amd64', `${p.name}_1.0.intoto.jsonl`);
      const v = await verify(file);
      expect(v.code, `${p.name}: ${v.stderr}`).toBe(0);
      expect(v.out.statement?.predicate).toMatchObject({ package: p.name, status: p.expect });
      expect(v.out.statement?.predicate.builds.length).toBe(p.expect === 'FTBFS' ? 1 : 2);
      if (p.expect === 'FTBFS') expect(v.out.statement?.subject).toEqual([]);
      // the package page links it
      expect(readFileSync(join(site, 'rb-pkg', 'bookworm', 'amd64', `${p.name}.html`), 'utf8')).toContain(
        `attestations/bookworm/amd64/${p.name}_1.0.intoto.jsonl`,
      );
    }
    // built twice: both results' attestations, oldest first
    expect(
      readFileSync(join(site, 'attestations', 'bookworm', 'amd64', 'repro_1.0.intoto.jsonl'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(2);
    expect(readFileSync(join(site, 'index.html'), 'utf8')).toMatch(/Every verdict is signed/);

    // a .deb the pair built, checked against the published attestation: here and over HTTP
    const debOf = (node: string, pkg: string): string => {
      const d = join(dir, 'state', 'results', node, 'bookworm', 'amd64', pkg, '1.0');
      const f = readdirSync(d).find((x) => x.endsWith('.deb'));
      if (!f) throw new Error(`no .deb in ${d}: ${readdirSync(d).join(' ')}`);
      return join(d, f);
    };
    const good = await verify(debOf('n1', 'repro'));
    expect(good.code, good.stderr).toBe(0);
    expect(good.out.file?.builds).toEqual([1, 2]);
    expect(good.stderr).toMatch(/repro 1\.0 bookworm\/amd64: reproducible/);
    const http = await serveSite(site, 0);
    try {
      const byUrl = await verify(debOf('n2', 'embed-date'), http.url);
      expect(byUrl.code, byUrl.stderr).toBe(0);
      expect(byUrl.out.file?.builds).toEqual([2]);
      expect(byUrl.out.statement?.predicate.status).toBe('FTBR');
    } finally {
      await http.close();
    }
    // a .deb altered after the build is not a subject
    const bad = join(dir, 'altered.deb');
    copyFileSync(debOf('n1', 'repro'), bad);
    writeFileSync(bad, Buffer.concat([readFileSync(bad), Buffer.from('x')]));
    const refused = await verify(bad);
    expect(refused.code).toBe(1);
    expect(refused.out.reason).toBe('not-a-subject');

    // the private key stays in state_dir: only public halves are in the site
    const priv = readFileSync(join(dir, 'state', 'keys', 'signing.key'), 'utf8');
    const body = priv
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    const { spawnSync } = await import('node:child_process');
    const grep = spawnSync('grep', ['-rlF', '-e', 'PRIVATE KEY', '-e', body, site], { encoding: 'utf8' });
    // grep exits 1 when nothing matched
    expect({ status: grep.status, files: grep.stdout }).toEqual({ status: 1, files: '' });
    expect(readFileSync(join(site, 'keys', 'reprofarm.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  }, 300_000);

  it('gives the claim back when a node is unreachable, an artifact was altered, or the pair is offline', async () => {
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'repro'])).code).toBe(0);
    const down = await runCli(['--config', cfg, 'build', 'n1', 'down']);
    expect(down.code, down.stderr).toBe(2);
    expect(down.stderr).toMatch(/repro 1\.0: given back to the schedule: node unreachable: connection refused/);
    let d = db();
    expect(d.prepare("SELECT claimed_at, priority, manual FROM schedule WHERE package = 'repro'").get()).toEqual({
      claimed_at: null,
      priority: 100,
      manual: 1,
    });
    d.close();

    const altered = await runCli(['--config', cfg, 'build', 'n3', 'n2']);
    expect(altered.code, altered.stderr).toBe(2);
    expect(altered.stderr).toMatch(/repro_1\.0_amd64\.deb from n3 does not match its SHA256SUMS/);
    expect(existsSync(join(dir, 'state', 'results', 'n3', 'bookworm', 'amd64', 'repro', '1.0'))).toBe(false);
    d = db();
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'repro'").get()).toEqual({ claimed_at: null });
    expect(d.prepare("SELECT COUNT(*) AS n FROM builds WHERE package = 'repro' AND node1 = 'n3'").get()).toEqual({ n: 0 });
    d.close();

    // a node marked offline: nothing is claimed
    const offline = join(dir, 'offline.yaml');
    writeFileSync(offline, readFileSync(cfg, 'utf8').replace(/( {2}n2:\n(?: {4}.*\n)*? {4}workdir: .*)/, '$1\n    offline: true'));
    const off = await runCli(['--config', offline, 'build', 'n1', 'n2']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).toMatch(/Nothing to build for reproducible_build_amd64_1: node n2 is marked offline/);
    d = db();
    expect(d.prepare("SELECT claimed_at FROM schedule WHERE package = 'repro'").get()).toEqual({ claimed_at: null });
    d.close();
  }, 300_000);

  it('records source-mismatch without building when the .dsc changed on the mirror after scheduling', async () => {
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare("UPDATE sources SET dsc_sha256 = ? WHERE name = 'repro'").run('0'.repeat(64));
    w.close();
    const r = await runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: 'repro', status: 'source-mismatch' });
    expect(r.stderr).not.toMatch(/build 1 on/);
    const d = db();
    const b = d.prepare("SELECT id, reason FROM builds WHERE package = 'repro' ORDER BY id DESC LIMIT 1").get() as { id: number; reason: string };
    expect(b.reason).toMatch(/repro_1\.0\.dsc on the mirror has SHA256 [0-9a-f]{64}, the Sources index said 0{64}/);
    expect(d.prepare('SELECT COUNT(*) AS n FROM build_runs WHERE build_id = ?').get(b.id)).toEqual({ n: 0 });
    d.close();
  }, 120_000);
});

describe('other modes and sources', () => {
  it('a tarball that changed on the mirror after scheduling: source-mismatch from the node, nothing built', async () => {
    // take it off the blacklist, then alter its tarball in the pool (the .dsc still names the old checksum)
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('blacklist: [tarball-changed, local-repro]', 'blacklist: [local-repro]'));
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    const tarball = mirror.dscPath('tarball-changed', '1.0').replace(/\.dsc$/, '.tar.xz');
    writeFileSync(tarball, Buffer.concat([readFileSync(tarball), Buffer.from('tampered')]));
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'tarball-changed', '--priority', '999'])).code).toBe(0);
    const r = await runCli(['--config', cfg, '--json', 'build', 'n1', 'n2']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      package: 'tarball-changed',
      status: 'source-mismatch',
      reason: expect.stringMatching(/^build 1 on n1: source-mismatch \(source-mismatch: tarball-changed_1\.0\.tar\.xz has SHA256/) as unknown,
    });
    const status = readFileSync(join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'tarball-changed', '1.0', 'status'), 'utf8');
    expect(status).toMatch(/^EXIT_CODE=72$/m);
    expect(status).toMatch(/^RESULT=source-mismatch$/m);
    expect(status).toMatch(/^REASON=source-mismatch: tarball-changed_1\.0\.tar\.xz has SHA256 [0-9a-f]{64}, tarball-changed_1\.0\.dsc says [0-9a-f]{64}$/m);
  }, 120_000);

  it('reprofarm build without nodes: both builds on this machine through the local transport', async () => {
    const local = join(dir, 'local.yaml');
    writeFileSync(
      local,
      [
        'state_dir: ./state-local',
        `mirror: ${server.url}`,
        `mirror_keyring: ${mirror.keyring}`,
        'suites: [bookworm]',
        'architectures: [amd64]',
        'schedule: { max_per_arch: 0 }',
        'nodes:',
        '  local1: { transport: local }',
        '  local2: { transport: local }',
      ].join('\n'),
    );
    expect((await runCli(['--config', local, 'sync'])).code).toBe(0);
    expect((await runCli(['--config', local, 'schedule', 'bookworm', 'amd64', 'local-repro'])).code).toBe(0);
    const r = await runCli(['--config', local, '--json', 'build']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ package: 'local-repro', status: 'reproducible', job: 'local', node1: 'local1', node2: 'local2' });
    const d1 = join(dir, 'state-local', 'results', 'local1', 'bookworm', 'amd64', 'local-repro', '1.0');
    const d2 = join(dir, 'state-local', 'results', 'local2', 'bookworm', 'amd64', 'local-repro', '1.0');
    const status2 = readFileSync(join(d2, 'status'), 'utf8');
    expect(status2).toMatch(/^VAR_HOSTNAME=i-capture-the-hostname$/m);
    expect(status2).toMatch(/^VAR_BUILD_PATH=.*\/state-local\/nodes\/local2\/build\/2\/local-repro-1\.0\/2nd$/m);

    // compare DIR1 DIR2, as the orchestrator does
    const same = await runCli(['--config', local, '--json', 'compare', d1, d2]);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ status: 'reproducible', same_build_depends: true });
    const h1 = join(dir, 'state', 'results', 'n1', 'bookworm', 'amd64', 'embed-hostname', '1.0');
    const h2 = join(dir, 'state', 'results', 'n2', 'bookworm', 'amd64', 'embed-hostname', '1.0');
    const prefix = join(dir, 'cmp');
    const diff = await runCli(['--config', local, '--json', 'compare', h1, h2, '--report', prefix]);
    expect(diff.code, diff.stderr).toBe(0);
    expect(JSON.parse(diff.stdout)).toMatchObject({ status: 'FTBR', differing: ['embed-hostname_1.0_amd64.deb'] });
    expect(readFileSync(`${prefix}.diffoscope.txt`, 'utf8')).toMatch(/i-capture-the-hostname/);
    expect((await runCli(['compare', h1])).code).toBe(64);
  }, 180_000);

  it("a job's own variations replace the defaults, are applied and recorded; build 2 keeping the node's host name makes embed-hostname reproducible", async () => {
    const own = join(dir, 'own-variations.yaml');
    writeFileSync(
      own,
      readFileSync(cfg, 'utf8').replace(
        '  reproducible_build_amd64_1: { nodes: [n1, n2] }',
        [
          '  reproducible_build_amd64_1:',
          '    nodes: [n1, n2]',
          '    variations:',
          "      build1: { UMASK: '0027', PARALLEL: 3, COLUMNS: 100 }",
          '      build2: { HOSTNAME: node, DOMAINNAME: node, TZ: Etc/GMT+12, DATE: real, LC_ALL: unset }',
        ].join('\n'),
      ),
    );
    for (const p of ['embed-hostname', 'embed-tz']) {
      expect((await runCli(['--config', own, 'schedule', 'bookworm', 'amd64', p])).code).toBe(0);
      const r = await runCli(['--config', own, '--json', 'build', 'n1', 'n2']);
      expect(r.code, r.stderr).toBe(0);
      // both nodes are this machine: with its own host name and build 1's time zone in build 2, nothing differs
      expect(JSON.parse(r.stdout), p).toMatchObject({ package: p, status: 'reproducible' });
    }
    const d = db();
    const runs = d
      .prepare(
        `SELECT r.build_number, r.variations FROM build_runs r JOIN builds b ON b.id = r.build_id
      WHERE b.package = 'embed-hostname' ORDER BY b.id DESC, r.build_number LIMIT 2`,
      )
      .all() as Array<{ build_number: number; variations: string }>;
    d.close();
    const v1 = JSON.parse(runs[0]!.variations) as Record<string, string>;
    const v2 = JSON.parse(runs[1]!.variations) as Record<string, string>;
    expect(v1).toMatchObject({ UMASK: '0027', PARALLEL: '3', COLUMNS: '100', TZ: 'Etc/GMT+12' });
    expect(v2).toMatchObject({ TZ: 'Etc/GMT+12', DATE: 'real clock', LC_ALL: 'unset', HOSTNAME: hostname(), LANG: 'et_EE.UTF-8' });
    // a value the configuration does not accept is refused before anything runs, with its key path
    const bad = join(dir, 'bad-variations.yaml');
    writeFileSync(bad, readFileSync(own, 'utf8').replace("UMASK: '0027'", 'UMASK: "0027; rm -rf /"').replace('TZ: Etc/GMT+12', 'TZE: Etc/GMT+12'));
    const refused = await runCli(['--config', bad, 'build', 'n1', 'n2']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/jobs\.reproducible_build_amd64_1\.variations\.build1\.UMASK: "0027; rm -rf \/" is not an octal umask/);
    expect(refused.stderr).toMatch(/jobs\.reproducible_build_amd64_1\.variations\.build2\.TZE: unknown key \(did you mean "TZ"\?\)/);
  }, 300_000);
});
