/**
 * A full disk on the main node, on real small tmpfs mounts (the tests run as
 * root, as CI does): the error says the disk is full, which path and how much
 * is free, and a build's claim goes back to the schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { asDiskFull, DiskFullError } from '../../core/disk.js';
import { formatError } from '../../core/errors.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
const mounts: string[] = [];
let mirror: TestMirror;
let server: MirrorServer;

function tmpfs(path: string, size: string): void {
  if (process.getuid?.() !== 0) throw new Error('these tests mount small tmpfs file systems: run them as root (CI does)');
  mkdirSync(path, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  mounts.push(path);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rf-hostile-disk-'));
  chmodSync(dir, 0o755);
  mirror = await createTestMirror();
  // about 3 MB of random bytes: its .deb cannot be compressed smaller
  await mirror.writeSuite({ suite: 'bookworm', packages: [{ name: 'big', version: '1.0', buildScript: 'head -c 3000000 /dev/urandom > build/big.bin' }] });
  server = await mirror.serve();
}, 120_000);

afterAll(async () => {
  for (const m of mounts.reverse()) execFileSync('umount', ['-l', m]);
  await server?.close();
  await mirror?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('a full disk on the main node', () => {
  it('a build whose results fill state_dir says the disk is full, where and how much is free, and gives its claim back', async () => {
    const state = join(dir, 'farm', 'state');
    tmpfs(state, '2m');
    const cfg = join(dir, 'farm', 'reprofarm.yaml');
    writeFileSync(
      cfg,
      [
        `state_dir: ${state}`,
        `mirror: ${server.url}`,
        `mirror_keyring: ${mirror.keyring}`,
        'suites: [bookworm]',
        'architectures: [amd64]',
        'schedule: { max_per_arch: 10 }',
        'nodes:',
        `  l1: { transport: local, arch: amd64, workdir: ${dir}/farm/w1 }`,
        `  l2: { transport: local, arch: amd64, workdir: ${dir}/farm/w2 }`,
      ].join('\n'),
    );
    const s = await runCli(['--config', cfg, 'sync']);
    expect(s.code, s.stderr).toBe(0);
    const r = await runCli(['--config', cfg, 'build', 'l1', 'l2']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /big 1\.0: given back to the schedule: the disk holding .*\/state\/results\/l1\/bookworm\/amd64\/big\/1\.0 is full \(\d+(\.\d)? [KM]iB free, 2\.\d MiB needed\)/,
    );
    expect(r.stderr).toMatch(/error: the disk holding .*\/state\/results\/l1\/bookworm\/amd64\/big\/1\.0 is full/);
    expect(r.stderr).toMatch(/hint: free space on the filesystem of .*state.*then run again; nothing was recorded half-way/);
    const d = new Database(join(state, 'reproducible.db'), { readonly: true });
    expect(d.prepare('SELECT package, claimed_at FROM schedule').all()).toEqual([{ package: 'big', claimed_at: null }]);
    expect(d.prepare('SELECT COUNT(*) AS n FROM builds').get()).toEqual({ n: 0 });
    d.close();
  }, 120_000);

  it('SQLite\'s "database or disk is full" and a file system ENOSPC are both said as a full disk', async () => {
    const small = join(dir, 'small');
    tmpfs(small, '256k');
    const db = new Database(join(small, 'x.db'));
    db.exec('CREATE TABLE t (b BLOB)');
    let caught: unknown;
    try {
      for (let i = 0; i < 1000; i++) db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024, i));
    } catch (err) {
      caught = err;
    }
    db.close();
    expect((caught as { code?: string }).code).toBe('SQLITE_FULL');
    const full = asDiskFull(caught, join(small, 'x.db'));
    expect(full).toBeInstanceOf(DiskFullError);
    expect(formatError(full)).toMatch(
      new RegExp(`error: the disk holding ${small}/x\\.db is full \\(\\d+ KiB free\\)\\ncaused by:\\n  1\\. database or disk is full\\nhint: free space`),
    );

    const enospc = await writeFile(join(small, 'more'), Buffer.alloc(1024 * 1024)).then(
      () => undefined,
      (err: unknown) => err,
    );
    // a failed write names no path: the caller's is said
    expect(asDiskFull(enospc, small)?.message).toMatch(new RegExp(`^the disk holding ${small} is full \\(0 KiB free\\)$`));
    expect(asDiskFull(new Error('something else'), small)).toBeUndefined();
  });
});
