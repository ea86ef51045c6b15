/**
 * reprofarm chroot update for real, on a local node, from the real Debian
 * archive (this machine's mirror, read from apt's sources at run time): the
 * tarball, its .info file and the DB row; a second run finds it up to date,
 * --force makes it again. collect then reports it as the node's CHROOTS fact,
 * and a node without it is degraded for that suite. A mirror that cannot be
 * reached fails the chroot, saying what to check, and keeps the old tarball.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DEBIAN_KEYRING, debianMirror, hostArch } from '../harness/debian-mirror.js';
import { runCli } from '../helpers/cli.js';

const ARCH = hostArch();
let dir: string;
let cfg: string;
const workdir = (n: string): string => join(dir, 'state', 'nodes', n);
const tarball = (n: string): string => join(workdir(n), 'chroots', `bookworm-${ARCH}.tar.zst`);

function writeConfig(name: string, chrootMirror: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `state_dir: ${join(dir, 'state')}`,
      `site_dir: ${join(dir, 'public')}`,
      `mirror: ${debianMirror()}`,
      `mirror_keyring: ${DEBIAN_KEYRING}`,
      'suites: [bookworm]',
      `architectures: [${ARCH}]`,
      'nodes:',
      `  a: { transport: local, arch: ${ARCH} }`,
      `  b: { transport: local, arch: ${ARCH} }`,
      'jobs:',
      '  j: { nodes: [a, b] }',
      'build: { backend: chroot }',
      `chroot: { mirror: ${JSON.stringify(chrootMirror)}, keyring: ${DEBIAN_KEYRING}, max_age_days: 7 }`,
      '',
    ].join('\n'),
  );
  return file;
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function rows(): Array<Record<string, unknown>> {
  const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM chroots ORDER BY node, suite').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

/** a loopback port nothing listens on */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rf-chroot-update-'));
  cfg = writeConfig('r', debianMirror());
});

describe('reprofarm chroot update', () => {
  let first: { sha256: string; created: string };

  it('makes the tarball on the node from the real archive: .info file, DB row, --json', async () => {
    const r = await runCli(['--config', cfg, '--json', 'chroot', 'update', 'a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`\\[1/1\\] a bookworm/${ARCH}: made, [\\d.]+ MB, in [\\d.]+ s`));
    const out = JSON.parse(r.stdout) as { made: number; failed: number; chroots: Array<Record<string, unknown>> };
    expect(out.made).toBe(1);
    expect(out.failed).toBe(0);
    const st = statSync(tarball('a'));
    expect(st.size).toBeGreaterThan(10 * 1024 * 1024);
    // zstd's magic number: mmdebstrap chose the compressor by the extension
    expect(readFileSync(tarball('a')).subarray(0, 4).toString('hex')).toBe('28b52ffd');
    const info = Object.fromEntries(
      readFileSync(`${tarball('a')}.info`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const sum = await sha256(tarball('a'));
    expect(info).toMatchObject({ SUITE: 'bookworm', ARCH, BASE: 'bookworm', MIRROR: debianMirror(), SIZE: String(st.size), SHA256: sum });
    expect(Math.abs(Number(info.CREATED) * 1000 - Date.now())).toBeLessThan(15 * 60_000);
    const created = new Date(Number(info.CREATED) * 1000).toISOString();
    expect(rows()).toEqual([{ node: 'a', suite: 'bookworm', arch: ARCH, created, size: st.size, sha256: sum, seen_at: expect.any(String) as string }]);
    expect(out.chroots[0]).toMatchObject({ node: 'a', suite: 'bookworm', arch: ARCH, result: 'made', size: st.size, sha256: sum, created });
    // the keyring went to the node beside the tarballs; no half-made file is left
    expect(readFileSync(join(workdir('a'), 'chroots', 'keyring.gpg')).equals(readFileSync(DEBIAN_KEYRING))).toBe(true);
    expect(() => statSync(join(workdir('a'), 'chroots', `.new-bookworm-${ARCH}.tar.zst`))).toThrow();
    first = { sha256: sum, created };
  }, 900_000);

  it('a second run finds it up to date; --force makes it again', async () => {
    const again = await runCli(['--config', cfg, 'chroot', 'update', 'a']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`a bookworm/${ARCH}: up to date \\(made \\d+ h ago\\)`));
    expect(again.stderr).toMatch(/0 made, 1 up to date, 0 failed/);
    expect(rows()[0]).toMatchObject({ sha256: first.sha256, created: first.created });

    await new Promise((r) => setTimeout(r, 1100)); // CREATED is in seconds
    const forced = await runCli(['--config', cfg, 'chroot', 'update', 'a', '--force', '--suite', 'bookworm']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/1 made, 0 up to date, 0 failed/);
    const row = rows()[0] as { created: string; sha256: string };
    expect(row.created > first.created).toBe(true);
    expect(row.sha256).toBe(await sha256(tarball('a')));
  }, 900_000);

  it('collect reports it as a fact; a node without it is degraded for that suite', async () => {
    const r = await runCli(['--config', cfg, '--json', 'collect']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { nodes: Array<{ node: string; health: string; reason: string | null; facts: Record<string, string> }> };
    const a = out.nodes.find((n) => n.node === 'a');
    const b = out.nodes.find((n) => n.node === 'b');
    const row = rows()[0] as { created: string; size: number; sha256: string };
    expect(a?.facts.CHROOTS).toBe(`bookworm-${ARCH}:${Date.parse(row.created) / 1000}:${row.size}:${row.sha256}`);
    // (a busy machine may be degraded for its load: only the chroot is looked at)
    expect(a?.reason ?? '').not.toContain('no chroot');
    expect(b?.facts.CHROOTS).toBe('unset');
    expect(b?.health).toBe('degraded');
    expect(b?.reason).toContain(`no chroot for bookworm/${ARCH} (run reprofarm chroot update b --suite bookworm)`);
    expect(rows().map((x) => x.node)).toEqual(['a']);
  }, 120_000);

  it('a mirror that cannot be reached fails the chroot, says what to check, and keeps the old tarball', async () => {
    const before = rows()[0];
    const bad = writeConfig('bad', `http://127.0.0.1:${await closedPort()}/debian`);
    const r = await runCli(['--config', bad, '--json', 'chroot', 'update', 'a', '--force', '--timeout', '300']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`a bookworm/${ARCH}: FAILED after [\\d.]+ s: exit 75: mmdebstrap failed`));
    expect(r.stderr).toMatch(/is the mirror reachable, and its Release signed by the keyring\?/);
    expect(r.stderr).toMatch(/E: .*127\.0\.0\.1/);
    expect(r.stderr).toMatch(/hint: check that chroot\.mirror is reachable from the node/);
    const out = JSON.parse(r.stdout) as { failed: number; chroots: Array<{ result: string; output: string | null }> };
    expect(out.failed).toBe(1);
    expect(out.chroots[0]?.result).toBe('failed');
    expect(out.chroots[0]?.output).toMatch(/E: /);
    expect(rows()[0]).toEqual(before);
    expect(await sha256(tarball('a'))).toBe((before as { sha256: string }).sha256);
  }, 300_000);

  it('refuses an unknown subcommand, suite or node as usage errors', async () => {
    for (const [args, re] of [
      [['chroot'], /chroot needs a subcommand: update/],
      [['chroot', 'make'], /unknown chroot subcommand "make"/],
      [['chroot', 'update', '--suite', 'bookwrm'], /--suite bookwrm is not configured; did you mean "bookworm"\?/],
      [['chroot', 'update', 'c'], /unknown node "c"/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli(['--config', cfg, ...args]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(re);
    }
  });
});
