/**
 * `reprofarm sync`, `schedule` and `status` against a real mirror the test
 * builds (dpkg-source, dpkg-scansources, gpg-signed Release), over loopback
 * HTTP, file:// and a plain path; and claims racing from several processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestMirror, type MirrorServer, type SourcePackageSpec, type TestMirror } from '../harness/mirror.js';
import { ROOT, runCli } from '../helpers/cli.js';

let mirror: TestMirror;
let server: MirrorServer;

const BASE: SourcePackageSpec[] = [
  { name: 'hello', version: '1.0-1' },
  { name: 'docs', version: '1.0', architecture: 'all' },
  { name: 'linuxonly', version: '1.0', architecture: 'linux-any' },
  { name: 'amdi', version: '2:1.0', architecture: 'amd64 i386' },
  { name: 'armonly', version: '1.0', architecture: 'any-arm64' },
  { name: 'hurdonly', version: '1.0', architecture: 'hurd-any' },
  { name: 'blocked', version: '1.0' },
];

beforeAll(async () => {
  mirror = await createTestMirror();
  await mirror.writeSuite({ suite: 'bookworm', packages: BASE });
  await mirror.writeSuite({ suite: 'trixie', packages: [{ name: 'hello', version: '1.0-1' }] });
  server = await mirror.serve();
}, 120_000);
afterAll(async () => {
  await server?.close();
  await mirror?.cleanup();
});

function setup(extra = '', mirrorUrl?: string): { dir: string; cfg: string; db: () => Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'rf-sync-'));
  const cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(
    cfg,
    [
      'state_dir: ./state',
      `mirror: ${mirrorUrl ?? server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      'architectures: [amd64, arm64]',
      'blacklist: [blocked]',
      'nodes:',
      '  l1: { transport: local }',
      extra,
    ].join('\n'),
  );
  return { dir, cfg, db: () => new Database(join(dir, 'state', 'reproducible.db'), { readonly: true }) };
}

type Row = Record<string, unknown>;

describe('reprofarm sync', () => {
  it('records sources, NFU and blacklisted statuses, and fills the schedule (HTTP mirror, InRelease)', async () => {
    const { cfg, db } = setup();
    const r = await runCli(['--config', cfg, '--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/bookworm: 7 sources \(7 new, 0 new versions, 0 removed\) from main\/source\/Sources\.xz/);
    const out = JSON.parse(r.stdout) as { suites: Array<Row & { architectures: Row[] }> };
    expect(out.suites[0]).toMatchObject({ suite: 'bookworm', ok: true, sources: 7, added: 7, problems: [] });
    const d = db();
    const results = d.prepare('SELECT arch, package, status FROM results ORDER BY arch, package').all();
    expect(results).toEqual([
      { arch: 'amd64', package: 'armonly', status: 'NFU' },
      { arch: 'amd64', package: 'blocked', status: 'blacklisted' },
      { arch: 'amd64', package: 'hurdonly', status: 'NFU' },
      { arch: 'arm64', package: 'amdi', status: 'NFU' },
      { arch: 'arm64', package: 'blocked', status: 'blacklisted' },
      { arch: 'arm64', package: 'hurdonly', status: 'NFU' },
    ]);
    const sched = d.prepare('SELECT arch, package, version, priority, reason, scheduled_by FROM schedule ORDER BY arch, package').all() as Row[];
    expect(sched.map((s) => `${s.arch as string}/${s.package as string}`)).toEqual([
      'amd64/amdi',
      'amd64/docs',
      'amd64/hello',
      'amd64/linuxonly',
      'arm64/armonly',
      'arm64/docs',
      'arm64/hello',
      'arm64/linuxonly',
    ]);
    expect(sched[0]).toMatchObject({ version: '2:1.0', priority: 40, reason: 'never tested', scheduled_by: 'scheduler' });
    const src = d.prepare("SELECT * FROM sources WHERE name = 'hello'").get() as Row;
    expect(src).toMatchObject({ suite: 'bookworm', version: '1.0-1', directory: 'pool/main/h/hello', dsc_name: 'hello_1.0-1.dsc', removed_at: null });
    expect(src.dsc_sha256).toMatch(/^[0-9a-f]{64}$/);
    d.close();

    // status: per suite/arch, and per package
    const st = await runCli(['--config', cfg, '--json', 'status']);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toEqual([
      { suite: 'bookworm', arch: 'amd64', known: 7, untested: 4, statuses: { NFU: 2, blacklisted: 1 }, scheduled: 4, building: 0 },
      { suite: 'bookworm', arch: 'arm64', known: 7, untested: 4, statuses: { NFU: 2, blacklisted: 1 }, scheduled: 4, building: 0 },
    ]);
    const one = await runCli(['--config', cfg, 'status', 'hello', 'armonly']);
    expect(one.stderr).toMatch(/^hello 1\.0-1 bookworm\/amd64: untested; scheduled \(priority 40, never tested, by scheduler\)$/m);
    expect(one.stderr).toMatch(/^armonly 1\.0 bookworm\/amd64: NFU; not scheduled$/m);

    // a re-sync with no changes changes nothing
    const again = await runCli(['--config', cfg, '--json', 'sync']);
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { suites: Row[] }).suites[0]).toMatchObject({ unchanged: true, added: 0, new_versions: 0, removed: 0, sources: 7 });
    expect(again.stderr).toMatch(/bookworm: 7 sources, main\/source\/Sources\.xz unchanged since the last sync/);
    // a configuration change (another blacklist) makes sync read the index again
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('blacklist: [blocked]', 'blacklist: [blocked, docs]'));
    const changed = await runCli(['--config', cfg, '--json', 'sync']);
    expect((JSON.parse(changed.stdout) as { suites: Row[] }).suites[0]).toMatchObject({ unchanged: false, sources: 7 });
    const d2 = db();
    expect(d2.prepare('SELECT COUNT(*) AS n FROM schedule').get()).toEqual({ n: 6 });
    expect(d2.prepare("SELECT COUNT(*) AS n FROM results WHERE package = 'docs' AND status = 'blacklisted'").get()).toEqual({ n: 2 });
    d2.close();
  });

  it('reads file:// and plain-path mirrors, and Release + Release.gpg', async () => {
    for (const url of [`file://${mirror.root}`, mirror.root]) {
      const { cfg } = setup('', url);
      const r = await runCli(['--config', cfg, 'sync', 'bookworm']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/7 sources \(7 new/);
    }
    await mirror.writeSuite({ suite: 'detached', packages: [{ name: 'hello', version: '1.0-1' }] }, { sign: 'detached' });
    const { cfg } = setup('', mirror.root);
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('suites: [bookworm]', 'suites: [detached]'));
    const r = await runCli(['--config', cfg, 'sync']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/detached: 1 sources/);
  });

  it('notes new versions and removals: removed packages leave the schedule, their history stays', async () => {
    const { cfg, dir } = setup();
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    // pretend hello and amdi were built
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare("DELETE FROM schedule WHERE package IN ('hello', 'amdi')").run();
    w.prepare(
      "INSERT INTO results (suite, arch, package, version, status, build_date) VALUES ('bookworm', 'amd64', 'hello', '1.0-1', 'reproducible', '2026-01-01T00:00:00.000Z'), ('bookworm', 'amd64', 'amdi', '2:1.0', 'FTBR', '2026-01-01T00:00:00.000Z')",
    ).run();
    w.close();
    await mirror.writeSuite({
      suite: 'bookworm',
      packages: [...BASE.filter((p) => p.name !== 'amdi' && p.name !== 'hello'), { name: 'hello', version: '1.1-1' }],
    });
    try {
      const r = await runCli(['--config', cfg, '--json', 'sync']);
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { suites: Row[] }).suites[0]).toMatchObject({ sources: 6, added: 0, new_versions: 1, removed: 1 });
      const d = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
      expect(d.prepare("SELECT version, reason, priority FROM schedule WHERE arch = 'amd64' AND package = 'hello'").get()).toEqual({
        version: '1.1-1',
        reason: 'new version',
        priority: 30,
      });
      expect(d.prepare("SELECT COUNT(*) AS n FROM schedule WHERE package = 'amdi'").get()).toEqual({ n: 0 });
      expect(d.prepare("SELECT removed_at IS NOT NULL AS removed FROM sources WHERE name = 'amdi'").get()).toEqual({ removed: 1 });
      expect(d.prepare("SELECT status, version FROM results WHERE arch = 'amd64' AND package = 'amdi'").get()).toEqual({ status: 'FTBR', version: '2:1.0' });
      d.close();
      const st = await runCli(['--config', cfg, 'status', 'amdi', 'hello']);
      expect(st.stderr).toMatch(/^amdi 2:1\.0 bookworm\/amd64: FTBR, removed from the suite; not scheduled$/m);
      expect(st.stderr).toMatch(/^hello 1\.1-1 bookworm\/amd64: reproducible \(tested 1\.0-1\); scheduled \(priority 30, new version/m);
    } finally {
      await mirror.writeSuite({ suite: 'bookworm', packages: BASE });
    }
  });

  it('skips malformed and hostile stanzas with their line numbers, records the rest', async () => {
    const good = readFileSync(mirror.distPath('bookworm', 'main/source/Sources'), 'utf8');
    const hostile = [
      'Package: ../evil\nVersion: 1.0\nArchitecture: any\nDirectory: pool/main/e/evil\n',
      'Package: foo;rm\nVersion: 1.0\nArchitecture: any\nDirectory: pool/main/f/foo\n',
      'Package: okname\nVersion: 1.0;id\nArchitecture: any\nDirectory: pool/main/o/okname\n',
      'Package: sneaky\nVersion: 1.0\nArchitecture: any\nDirectory: pool/../../etc\nChecksums-Sha256:\n ' + 'a'.repeat(64) + ' 1 sneaky_1.0.dsc\n',
      'Package: garbage\nthis line is not a field\n',
    ].join('\n');
    await mirror.writeRawSources('hostile', `${good}\n${hostile}`);
    const { cfg, db } = setup();
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('suites: [bookworm]', 'suites: [hostile]'));
    const r = await runCli(['--config', cfg, '--json', 'sync']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { suites: Array<{ sources: number; problems: Array<{ line: number; message: string }> }> };
    expect(out.suites[0]!.sources).toBe(7);
    const msgs = out.suites[0]!.problems.map((p) => p.message);
    expect(msgs).toEqual([
      expect.stringMatching(/^source "\.\.\/evil" refused: it contains a path separator/),
      expect.stringMatching(/^source "foo;rm" refused/),
      expect.stringMatching(/^okname: version "1\.0;id" refused/),
      expect.stringMatching(/^sneaky: missing or bad Directory/),
      'not a "Field: value" line: "this line is not a field"; stanza skipped',
    ]);
    const lines = out.suites[0]!.problems.map((p) => p.line);
    expect(lines.every((l, i) => i === 0 || l > lines[i - 1]!)).toBe(true);
    expect(r.stderr).toMatch(/warning: hostile: 5 Sources stanza\(s\) skipped/);
    expect(r.stderr).toMatch(/main\/source\/Sources\.xz line \d+: source "\.\.\/evil" refused/);
    const d = db();
    expect(d.prepare("SELECT COUNT(*) AS n FROM sources WHERE name IN ('../evil', 'foo;rm', 'okname', 'sneaky', 'garbage')").get()).toEqual({ n: 0 });
    d.close();
  });

  it('refuses a truncated index, a checksum mismatch, unsigned, wrongly signed and expired mirrors, recording nothing', async () => {
    const cases: Array<[string, (suite: string) => Promise<void>, RegExp]> = [
      [
        'truncated',
        async (s) => {
          await mirror.writeSuite({ suite: s, packages: BASE });
          const f = mirror.distPath(s, 'main/source/Sources.xz');
          truncateSync(f, Math.floor(readFileSync(f).length / 2));
        },
        /Sources\.xz is corrupt or truncated|does not match its Release file/,
      ],
      [
        'mismatch',
        async (s) => {
          await mirror.writeSuite({ suite: s, packages: BASE });
          // a valid index, but not the one the Release file lists
          await mirror.writeSuite({ suite: 'other', packages: [{ name: 'hello', version: '1.0-1' }] });
          copyFileSync(mirror.distPath('other', 'main/source/Sources.xz'), mirror.distPath(s, 'main/source/Sources.xz'));
        },
        /Sources\.xz does not match its Release file: SHA256 [0-9a-f]{64} \(\d+ bytes\), expected/,
      ],
      ['unsigned', (s) => mirror.writeSuite({ suite: s, packages: BASE }, { sign: 'none' }), /is not signed \(no InRelease, no Release\.gpg\)/],
      [
        'wrongkey',
        (s) => mirror.writeSuite({ suite: s, packages: BASE }, { signWith: 'other' }),
        /signature of .*InRelease is not valid: it is signed by a key that is not in the keyring/,
      ],
      ['expired', (s) => mirror.writeSuite({ suite: s, packages: BASE }, { validUntil: new Date(Date.now() - 86400_000) }), /expired on .* \(Valid-Until\)/],
      [
        'replayed',
        async (s) => {
          // another suite's validly signed Release and index, served under this suite's name
          await mirror.writeSuite({ suite: 'oldstable', packages: [{ name: 'hello', version: '0.9-1' }] });
          cpSync(dirname(mirror.distPath('oldstable', 'InRelease')), dirname(mirror.distPath(s, 'InRelease')), { recursive: true, force: true });
        },
        /InRelease is the Release of suite "oldstable" \(codename "oldstable"\), not of "replayed"/,
      ],
    ];
    for (const [suite, prepare, re] of cases) {
      await prepare(suite);
      const { cfg, db } = setup();
      writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('suites: [bookworm]', `suites: [${suite}, bookworm]`));
      const r = await runCli(['--config', cfg, 'sync']);
      expect(r.code, `${suite}: ${r.stderr}`).toBe(2);
      expect(r.stderr, suite).toMatch(re);
      expect(r.stderr, suite).toMatch(new RegExp(`${suite}: FAILED, nothing recorded for it`));
      expect(r.stderr).toMatch(/Synced 1\/2 suites/);
      const d = db();
      expect(d.prepare('SELECT COUNT(*) AS n FROM sources WHERE suite = ?').get(suite), suite).toEqual({ n: 0 });
      expect(d.prepare("SELECT COUNT(*) AS n FROM sources WHERE suite = 'bookworm'").get()).toEqual({ n: 7 });
      d.close();
    }
    // the unsigned mirror is accepted only when the config says so, with a warning
    const { cfg } = setup('mirror_verify: false');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('suites: [bookworm]', 'suites: [unsigned]'));
    const r = await runCli(['--config', cfg, 'sync']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: dists\/unsigned: signature not checked \(mirror_verify: false\)/);
  });
});

describe('reprofarm sync: a mirror that goes back in time', () => {
  it('refuses a Release older than the last one synced from the same mirror, recording nothing; a new mirror starts afresh', async () => {
    const now = Date.now();
    await mirror.writeSuite({ suite: 'rollback', packages: BASE }, { date: new Date(now) });
    const { cfg, db } = setup();
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('suites: [bookworm]', 'suites: [rollback]'));
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    // the old Release (validly signed, an older index) served again
    await mirror.writeSuite({ suite: 'rollback', packages: [...BASE, { name: 'older', version: '1.0' }] }, { date: new Date(now - 2 * 86400_000) });
    const r = await runCli(['--config', cfg, 'sync']);
    // its only suite failed: exit 1
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/InRelease is dated \S+, older than the Release of the last sync from this mirror \(\S+\): the mirror went back in time/);
    const d = db();
    expect(d.prepare("SELECT COUNT(*) AS n FROM sources WHERE suite = 'rollback' AND name = 'older'").get()).toEqual({ n: 0 });
    d.close();
    // the same files through another mirror URL (file://): accepted, and remembered from then on
    const other = readFileSync(cfg, 'utf8').replace(/^mirror: .*$/m, `mirror: ${mirror.root}`);
    writeFileSync(cfg, other);
    const again = await runCli(['--config', cfg, 'sync']);
    expect(again.code, again.stderr).toBe(0);
    const d2 = db();
    expect(d2.prepare("SELECT COUNT(*) AS n FROM sources WHERE suite = 'rollback' AND name = 'older'").get()).toEqual({ n: 1 });
    d2.close();
  });
});

describe('reprofarm schedule', () => {
  it('validates names, the suite contents and the architecture; all or nothing', async () => {
    const { cfg, db } = setup('schedule: { manual_daily_limit: 3 }');
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    const hostile = ['../etc/passwd', 'a b', 'x;rm -rf /', '$(id)', 'UPPER'];
    for (const bad of hostile) {
      const r = await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'hello', bad]);
      expect(r.code, bad).toBe(64);
      expect(r.stderr, bad).toMatch(/refused, nothing scheduled/);
    }
    const unknown = await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'hello', 'nosuchpkg', 'armonly', 'blocked']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nosuchpkg is not in bookworm/);
    expect(unknown.stderr).toMatch(/armonly is not for amd64 \(Architecture: any-arm64\)/);
    expect(unknown.stderr).toMatch(/blocked is blacklisted/);
    expect((await runCli(['--config', cfg, 'schedule', 'sid', 'amd64', 'hello'])).stderr).toMatch(/suite "sid" is not configured/);
    expect((await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'hello', '--priority', '0'])).code).toBe(64);
    let d = db();
    expect(d.prepare('SELECT COUNT(*) AS n FROM manual_requests').get()).toEqual({ n: 0 });
    expect(d.prepare("SELECT priority, manual FROM schedule WHERE arch = 'amd64' AND package = 'hello'").get()).toEqual({ priority: 40, manual: 0 });
    d.close();
    const ok = await runCli(['--config', cfg, '--json', 'schedule', 'bookworm', 'amd64', 'hello', 'docs', '--priority', '500']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ added: 0, raised: 2, priority: 500 });
    d = db();
    expect(d.prepare("SELECT priority, manual, reason FROM schedule WHERE arch = 'amd64' AND package = 'hello'").get()).toEqual({
      priority: 500,
      manual: 1,
      reason: 'manual request',
    });
    d.close();
    const over = await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', 'linuxonly', 'amdi']);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/daily limit of 3 manual requests would be exceeded: 2 in the last 24 hours, 2 more asked/);
  });
});

describe('claims', () => {
  it('several processes racing for one DB never claim the same entry twice', async () => {
    const { cfg, dir } = setup('schedule: { max_per_arch: 1000 }');
    expect((await runCli(['--config', cfg, 'sync'])).code).toBe(0);
    // more work: fill the schedule with synthetic entries
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    const ins = w.prepare(
      "INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at) VALUES ('bookworm', 'amd64', ?, '1.0', ?, 'test', 'test', '2026-01-01T00:00:00.000Z')",
    );
    w.transaction(() => {
      for (let i = 0; i < 400; i++) ins.run(`pkg${i}`, i % 7);
    })();
    w.close();
    const total = 404;
    const workers = 6;
    // every worker opens the DB, says it is ready, and starts claiming when the go file appears
    const go = join(dir, 'go');
    let ready = 0;
    const outs = await Promise.all(
      Array.from(
        { length: workers },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'claimer.ts'), join(dir, 'state', 'reproducible.db'), 'amd64', `job${i}`, go],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            );
            let out = '';
            let err = '';
            child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
            child.stderr.setEncoding('utf8').on('data', (d: string) => {
              err += d;
              if (d.includes('ready') && ++ready === workers) writeFileSync(go, '');
            });
            child.on('error', reject);
            child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`claimer exited ${code}: ${err}`))));
          }),
      ),
    );
    const claimed = outs.flatMap((o) => o.split('\n').filter(Boolean));
    expect(claimed).toHaveLength(total);
    expect(new Set(claimed).size).toBe(total);
    const perWorker = outs.map((o) => o.split('\n').filter(Boolean).length);
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThan(1);
    const d = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    expect(d.prepare("SELECT COUNT(*) AS n FROM schedule WHERE arch = 'amd64'").get()).toEqual({ n: 0 });
    expect(d.prepare("SELECT COUNT(*) AS n FROM results WHERE arch = 'amd64' AND status = 'reproducible'").get()).toEqual({ n: total });
    d.close();
  });
});
