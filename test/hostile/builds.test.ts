/**
 * Hostile builds and nodes, end to end: real packages from a signed test
 * mirror, real dpkg-buildpackage on two local nodes and on nodes behind a real
 * sshd whose forced command tampers with what node-build.sh left, a real
 * SQLite file. Each test names the threat it stands against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../core/config.js';
import { buildNext, type BuildEvent } from '../../builder/orchestrator.js';
import { pairFor } from '../../builder/pairs.js';
import { openDb } from '../../db/index.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { runCli } from '../helpers/cli.js';

let mirror: TestMirror;
let server: MirrorServer;
let farm: SshFarm;
let dir: string;

const flood = (pkg: string, body: string): string => `for d in ${'${DIRS}'}/reproducible-results/*/bookworm/amd64/${pkg}/1.0; do ${body}; done`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rf-hostile-builds-'));
  chmodSync(dir, 0o755);
  // the local nodes' workdirs: <dir>/<farm>/w1, w2
  const dirs = `${dir}/*/w*`;
  mirror = await createTestMirror();
  await mirror.writeSuite({
    suite: 'bookworm',
    packages: [
      { name: 'late-change', version: '1.0' },
      { name: 'repro', version: '1.0' },
      { name: 'repro-two', version: '1.0' },
      // what a package can do to the results directory it is built for
      { name: 'flood', version: '1.0', buildScript: flood('flood', 'i=0; while [ $i -lt 15000 ]; do : > "$d/f$i"; i=$((i+1)); done').replace('${DIRS}', dirs) },
      {
        name: 'newline-name',
        version: '1.0',
        buildScript: flood(
          'newline-name',
          `: > "$d/a
b"`,
        ).replace('${DIRS}', dirs),
      },
    ],
  });
  server = await mirror.serve();
  // nodes that tamper with the results after node-build.sh wrote them, and print no SHA256SUMS
  const tamper = (name: string, body: string): string => {
    const f = join(dir, `${name}.sh`);
    writeFileSync(
      f,
      [
        '#!/bin/sh',
        'case "$SSH_ORIGINAL_COMMAND" in internal-sftp|*sftp-server) exec /usr/lib/openssh/sftp-server ;; esac',
        'case "$SSH_ORIGINAL_COMMAND" in *node-build.sh\\ [12]\\ *) ;; *) exec sh -c "$SSH_ORIGINAL_COMMAND" ;; esac',
        'sh -c "$SSH_ORIGINAL_COMMAND" > /dev/null; rc=$?',
        'case "$SSH_ORIGINAL_COMMAND" in *node-build.sh\\ [12]\\ *)',
        '  for d in $(find "$HOME" /tmp -path "*reproducible-results*" -name status -newer "$0" 2>/dev/null | sed "s,/status$,,"); do',
        `    ( cd "$d" && { ${body}; } && sha256sum $(ls | grep -v SHA256SUMS) > SHA256SUMS )`,
        '  done ;;',
        'esac',
        'exit $rc',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return `/bin/sh ${f}`;
  };
  farm = await startSshFarm({
    nodes: [
      { name: 's1' },
      { name: 'links', forceCommand: tamper('links', 'for f in *.deb; do rm -f "$f"; ln -s /etc/passwd "$f"; done') },
      { name: 'numbers', forceCommand: tamper('numbers', 'sed -i "s/^DURATION=.*/DURATION=-1e308/" status') },
    ],
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
});

/** A farm of its own: two local nodes (and the sshd nodes), SQLite in its state_dir, synced. */
async function setup(name: string, extra: string[] = []): Promise<{ root: string; cfg: string; db: () => Database.Database }> {
  const root = join(dir, name);
  const ssh = (n: string): string[] => {
    const x = farm.node(n);
    return [
      `  ${n}:`,
      `    host: ${x.host}`,
      `    port: ${x.port}`,
      `    user: ${farm.user}`,
      '    arch: amd64',
      `    identity_file: ${farm.identityFile}`,
      `    known_hosts: ${farm.knownHostsFile}`,
      `    workdir: ${x.workdir}`,
    ];
  };
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    [
      `state_dir: ${root}/state`,
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      'architectures: [amd64]',
      'schedule: { max_per_arch: 0 }',
      'nodes:',
      '  l1: { transport: local, arch: amd64, workdir: ' + `${root}/w1 }`,
      '  l2: { transport: local, arch: amd64, workdir: ' + `${root}/w2 }`,
      ...ssh('s1'),
      ...ssh('links'),
      ...ssh('numbers'),
      ...extra,
    ].join('\n'),
  );
  const r = await runCli(['--config', cfg, 'sync']);
  if (r.code !== 0) throw new Error(r.stderr);
  return { root, cfg, db: () => new Database(join(root, 'state', 'reproducible.db'), { readonly: true }) };
}

async function schedule(cfg: string, ...pkgs: string[]): Promise<void> {
  const r = await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', ...pkgs]);
  if (r.code !== 0) throw new Error(r.stderr);
}

describe('a verdict no build can fake', () => {
  it('a .deb that build 2 changed after its .changes was written is never recorded reproducible', async () => {
    // build 2's command appends to the .deb once dpkg-buildpackage has written the .changes
    const f = await setup('late', [
      'build:',
      '  max_attempts: 2',
      `  command: 'dpkg-buildpackage -us -uc -b && if [ -n "\${CAPTURE_ENVIRONMENT:-}" ]; then for f in ../*.deb; do printf x >> "$f"; done; fi'`,
    ]);
    await schedule(f.cfg, 'late-change');
    const first = await runCli(['--config', f.cfg, 'build', 'l1', 'l2']);
    expect(first.code, first.stderr).toBe(2);
    expect(first.stderr).toMatch(
      /build 2 on l2: late-change_1\.0_amd64\.deb does not match late-change_1\.0_amd64\.changes \(it lists SHA256 [0-9a-f]{64}, the file has [0-9a-f]{64}\) \(attempt 1 of 2\)/,
    );
    const second = await runCli(['--config', f.cfg, '--json', 'build', 'l1', 'l2']);
    expect(second.code, second.stderr).toBe(0);
    const out = JSON.parse(second.stdout) as { status: string; reason: string };
    expect(out.status).toBe('FTBFS');
    expect(out.reason).toMatch(/does not match late-change_1\.0_amd64\.changes .*\(2 times: not retried until a new version or reprofarm schedule\)/);
    const d = f.db();
    expect(d.prepare("SELECT COUNT(*) AS n FROM builds WHERE status = 'reproducible'").get()).toEqual({ n: 0 });
    expect(d.prepare('SELECT failures, gave_up FROM build_attempts WHERE package = ?').get('late-change')).toEqual({ failures: 2, gave_up: 1 });
    d.close();
    // asked for again by hand: counted afresh
    await schedule(f.cfg, 'late-change');
    const again = f.db();
    expect(again.prepare('SELECT COUNT(*) AS n FROM build_attempts').get()).toEqual({ n: 0 });
    again.close();
  });
});

describe('a package cannot hold its pair forever', () => {
  it('a package flooding its results with 15,000 files is recorded with the real reason after build.max_attempts, and not rescheduled', async () => {
    const f = await setup('flood', ['build: { max_attempts: 2 }']);
    await schedule(f.cfg, 'flood', 'newline-name', 'repro');
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await runCli(['--config', f.cfg, '--json', 'build', 'l1', 'l2']);
      outcomes.push(r.stdout);
    }
    const byPkg = new Map<string, Array<{ outcome: string; status: string | null; reason: string | null }>>();
    for (const o of outcomes) {
      const j = JSON.parse(o) as { package: string; outcome: string; status: string | null; reason: string | null };
      byPkg.set(j.package, [...(byPkg.get(j.package) ?? []), j]);
    }
    const floodRuns = byPkg.get('flood') ?? [];
    expect(floodRuns.map((r) => r.outcome)).toEqual(['requeued', 'recorded']);
    expect(floodRuns[1]?.status).toBe('FTBFS');
    expect(floodRuns[1]?.reason).toMatch(/SHA256SUMS on l1 is larger than build\.max_metadata_kb \(1024 KiB\): not fetched \(2 times/);
    expect(floodRuns.map((r) => r.reason ?? '').join(' ')).not.toMatch(/SIGKILL/);
    const nl = byPkg.get('newline-name') ?? [];
    expect(nl.map((r) => r.outcome)).toEqual(['requeued', 'recorded']);
    expect(nl[1]?.reason).toMatch(/l1: SHA256SUMS line \d+ is not "<sha256> {2}<file name>" \(2 times/);
    expect(byPkg.get('repro')?.map((r) => r.status)).toEqual(['reproducible']);
    // the time-based policies would pick every package up again at once; the given-up ones stay out
    const retry = join(dir, 'flood-retry.yaml');
    writeFileSync(
      retry,
      readFileSync(f.cfg, 'utf8').replace('schedule: { max_per_arch: 0 }', 'schedule: { max_per_arch: 100, retry_failed_days: 0, min_age_days: 0 }'),
    );
    await new Promise((r) => setTimeout(r, 20));
    const s = await runCli(['--config', retry, 'sync']);
    expect(s.code, s.stderr).toBe(0);
    const d = f.db();
    expect((d.prepare('SELECT package FROM schedule ORDER BY package').all() as Array<{ package: string }>).map((r) => r.package)).toEqual([
      'late-change',
      'repro',
      'repro-two',
    ]);
    d.close();
  }, 240_000);
});

describe('nodes that tamper with their results', () => {
  it('a node whose .debs are links to /etc/passwd is refused, and no copy of /etc/passwd lands in state_dir', async () => {
    const f = await setup('links');
    await schedule(f.cfg, 'repro');
    const r = await runCli(['--config', f.cfg, 'build', 'links', 's1']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/repro_1\.0_amd64\.deb in the results on links is a symbolic link, not a regular file: not fetched \(attempt 1 of 3\)/);
    expect(existsSync(join(f.root, 'state', 'results', 'links'))).toBe(false);
    const passwd = readFileSync('/etc/passwd');
    const walk = (p: string): string[] => readdirSync(p, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(p, e.name)) : [join(p, e.name)]));
    expect(walk(join(f.root, 'state')).filter((p) => readFileSync(p).equals(passwd))).toEqual([]);
  });

  it('a node reporting DURATION=-1e308 is refused before the number reaches the DB or nodes.html', async () => {
    const f = await setup('numbers');
    await schedule(f.cfg, 'repro');
    const r = await runCli(['--config', f.cfg, 'build', 'numbers', 's1']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/the status file from numbers: DURATION must be a whole number from 0 to \d+, not "-1e308"/);
    expect(existsSync(join(f.root, 'state', 'results', 'numbers', 'bookworm', 'amd64', 'repro', '1.0'))).toBe(false);
    const d = f.db();
    expect(d.prepare('SELECT COUNT(*) AS n FROM build_runs').get()).toEqual({ n: 0 });
    d.close();
  });
});

describe('the main node failing under a build', () => {
  it('a DB busy past its timeout gives the claim back and keeps the finished pair, recorded next time without building again', async () => {
    const f = await setup('busy');
    await schedule(f.cfg, 'repro-two');
    const { config } = loadConfig({ path: f.cfg });
    const dbFile = join(f.root, 'state', 'reproducible.db');
    const db = openDb(dbFile, { busyTimeoutMs: 300 });
    const locker = new Database(dbFile);
    locker.pragma('busy_timeout = 5000');
    const pair = pairFor(config, ['l1', 'l2']);
    try {
      // another writer takes the DB as build 2 ends, and holds it for 2.5 s
      const onEvent = (e: BuildEvent): void => {
        if (e.type === 'build-done' && e.n === 2) {
          locker.exec('BEGIN IMMEDIATE');
          setTimeout(() => locker.exec('COMMIT'), 2500);
        }
      };
      await expect(buildNext(config, db, pair, { onEvent })).rejects.toThrow(/database is locked/);
      expect(db.sql.prepare('SELECT claimed_at FROM schedule WHERE package = ?').get('repro-two')).toEqual({ claimed_at: null });
      expect(existsSync(join(f.root, 'state', 'unrecorded', 'bookworm', 'amd64', 'repro-two', '1.0.json'))).toBe(true);
      const events: BuildEvent[] = [];
      const out = await buildNext(config, db, pair, { onEvent: (e) => events.push(e) });
      expect(out).toMatchObject({ kind: 'recorded', status: 'reproducible' });
      expect(events.filter((e) => e.type === 'build-start')).toEqual([]);
      expect(db.sql.prepare('SELECT COUNT(*) AS n FROM builds').get()).toEqual({ n: 1 });
      expect(db.sql.prepare('SELECT COUNT(*) AS n FROM build_runs').get()).toEqual({ n: 2 });
      expect(existsSync(join(f.root, 'state', 'unrecorded', 'bookworm', 'amd64', 'repro-two', '1.0.json'))).toBe(false);
    } finally {
      locker.close();
      db.close();
    }
  });
});
