/** reprofarm backup: a consistent copy of reproducible.db while another process writes to it without pause. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../db/index.js';
import { ROOT, runCli } from '../helpers/cli.js';

let dir: string;
let cfg: string;
let writer: ChildProcess | undefined;
let writerErr = '';
let writerCount = 0;

/** the real sqlite3 command-line tool */
function sqlite3(file: string, sql: string): string {
  try {
    return execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('sqlite3 is not installed: apt-get install sqlite3');
    throw err;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rf-backup-'));
  cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(cfg, 'state_dir: ./state\nnodes:\n  a: { transport: local }\n  b: { transport: local }\n');
  const db = openDb(join(dir, 'state', 'reproducible.db'));
  // two tables the writer fills in pairs (a copy of one moment has as many rows in each), and ~40 MB so that the copy takes a while
  db.sql.exec('CREATE TABLE ta (n INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE tb (n INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE bulk (pad BLOB);');
  const ins = db.sql.prepare('INSERT INTO bulk VALUES (randomblob(4096))');
  db.sql.transaction(() => {
    for (let i = 0; i < 10_000; i++) ins.run();
  })();
  db.close();
  const script = join(dir, 'writer.cjs');
  writeFileSync(
    script,
    `
const Database = require(${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3'))});
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 30000');
db.pragma('journal_mode = WAL');
const a = db.prepare('INSERT INTO ta (n, pad) VALUES (?, randomblob(512))');
const b = db.prepare('INSERT INTO tb (n, pad) VALUES (?, randomblob(512))');
const pair = db.transaction((n) => { a.run(n); b.run(n); });
let n = 0;
let stop = false;
process.on('SIGTERM', () => { stop = true; });
function burst() {
  for (let i = 0; i < 20 && !stop; i++) pair(++n);
  process.stdout.write(n + '\\n');
  if (stop) { db.close(); process.exit(0); }
  setImmediate(burst);
}
burst();
`,
  );
  writer = spawn(process.execPath, [script, join(dir, 'state', 'reproducible.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
  writer.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const last = d.trim().split('\n').pop();
    if (last) writerCount = Number(last);
  });
  writer.stderr!.setEncoding('utf8').on('data', (d: string) => (writerErr += d));
  // let it get going
  while (writerCount < 200) await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  if (writer && writer.exitCode === null) {
    const done = new Promise((r) => writer!.once('exit', r));
    writer.kill('SIGTERM');
    await done;
  }
});

describe('reprofarm backup FILE', () => {
  it('copies the database while another process writes, consistently, and the copy passes integrity_check', async () => {
    const out = join(dir, 'backups');
    execFileSync('mkdir', ['-p', out]);
    for (let i = 1; i <= 3; i++) {
      const file = join(out, `copy${i}.db`);
      const before = writerCount;
      const r = await runCli(['--config', cfg, '--json', 'backup', file]);
      const after = writerCount;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/Backed up .*reproducible\.db to .*copy\d\.db .*integrity ok/);
      const j = JSON.parse(r.stdout) as { file: string; integrity: string; pages: number; bytes: number };
      expect(j).toMatchObject({ file, integrity: 'ok' });
      expect(j.bytes).toBeGreaterThan(40 * 1024 * 1024);
      // the writer went on during the backup
      expect(after, 'the writer made progress while the backup ran').toBeGreaterThan(before);
      expect(sqlite3(file, 'PRAGMA integrity_check')).toBe('ok');
      expect(sqlite3(file, 'PRAGMA journal_mode')).toBe('delete');
      const [na, nb] = sqlite3(file, 'SELECT (SELECT COUNT(*) FROM ta), (SELECT COUNT(*) FROM tb)').split('|').map(Number);
      expect(na, 'a snapshot of one moment: both tables of each pair').toBe(nb);
      expect(na).toBeGreaterThanOrEqual(before - 20);
      expect(na).toBeLessThanOrEqual(writerCount);
      expect(Number(sqlite3(file, 'SELECT MAX(version) FROM schema_migrations'))).toBeGreaterThan(0);
    }
    expect(readdirSync(out).sort(), 'no temporary files left').toEqual(['copy1.db', 'copy2.db', 'copy3.db']);
    expect(writerErr).toBe('');
    expect(writer?.exitCode).toBeNull();
  }, 120_000);

  it('refuses to overwrite an existing file unless --force', async () => {
    const file = join(dir, 'existing.db');
    writeFileSync(file, 'precious');
    const r = await runCli(['--config', cfg, 'backup', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/existing\.db exists; not overwriting it/);
    expect(r.stderr).toMatch(/hint: .*--force/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    const f = await runCli(['--config', cfg, 'backup', '--force', file]);
    expect(f.code, f.stderr).toBe(0);
    expect(sqlite3(file, 'PRAGMA integrity_check')).toBe('ok');
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 60_000);

  it('usage: --help lists the options, unknown options and a missing FILE are usage errors', async () => {
    const h = await runCli(['backup', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/usage: reprofarm backup FILE \[--force\]/);
    expect(h.stdout).toMatch(/--force +replace FILE if it exists \(default: refuse\)/);
    for (const args of [['backup'], ['backup', 'a', 'b'], ['backup', '--forse', 'x']]) {
      const r = await runCli(['--config', cfg, ...args]);
      expect(r.code, args.join(' ')).toBe(64);
    }
    const none = await runCli(['--config', join(dir, 'nostate.yaml'), 'backup', join(dir, 'x.db')]);
    expect(none.code).toBe(1);
    expect(existsSync(join(dir, 'x.db'))).toBe(false);
  });
});
