/**
 * `reprofarm sync` against a hostile mirror: Sources indexes built to exhaust
 * time or memory (decompression bombs, an endless line, a stanza that never
 * ends, a body longer than the Release file lists, millions of malformed
 * stanzas). The mirror is the real test mirror (gpg-signed Release, served
 * over loopback HTTP), the DB real SQLite; the CLI runs under GNU time, which
 * reports its wall time and peak RSS. Every bomb here is tiny on disk (xz and
 * gzip streams concatenated) and would take minutes and gigabytes if read
 * whole: each run is killed after RUN_TIMEOUT_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { createTestMirror, releaseText, runTool, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { BIN, ROOT } from '../helpers/cli.js';

const GNU_TIME = '/usr/bin/time';
/** a run still going after this is killed (and the test fails): the bounded runs take about a second */
const RUN_TIMEOUT_MS = 30_000;
/** generous for a shared 2-core CI machine: a refusal takes node's start-up and a few milliseconds */
const MAX_WALL_S = 10;
const MAX_RSS_MB = 300;
const GIB = 1024 ** 3;

let mirror: TestMirror;
let server: MirrorServer;
/** bytes the HTTP intercept sent for the endless body, by request */
let endlessSent = 0;
let endlessClosed: Promise<void> = Promise.resolve();

beforeAll(async () => {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: install the Debian package time (apt-get install --no-install-recommends time)`);
  mirror = await createTestMirror();
  await mirror.writeSuite({ suite: 'bookworm', packages: [{ name: 'hello', version: '1.0-1' }] });
  server = await mirror.serve({
    // dists/toolong/main/source/Sources.xz: the genuine file, then zero bytes (xz stream padding) for ever
    intercept: (req, res) => {
      if (req.url !== '/debian/dists/toolong/main/source/Sources.xz') return false;
      const genuine = readFileSync(mirror.distPath('toolong', 'main/source/Sources.xz'));
      endlessSent = 0;
      endlessClosed = new Promise((resolve) => res.once('close', () => resolve()));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const zeros = Buffer.alloc(1 << 16);
      const pump = (): void => {
        while (!res.destroyed) {
          const chunk = endlessSent === 0 ? genuine : zeros;
          endlessSent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      return true;
    },
  });
}, 120_000);
afterAll(async () => {
  await server?.close();
  await mirror?.cleanup();
});

function setup(suites: string[], extra = ''): { cfg: string; db: () => Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'rf-hostile-sync-'));
  const cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(
    cfg,
    [
      'state_dir: ./state',
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      `suites: [${suites.join(', ')}]`,
      'architectures: [amd64]',
      'nodes:',
      '  l1: { transport: local }',
      extra,
    ].join('\n'),
  );
  return { cfg, db: () => new Database(join(dir, 'state', 'reproducible.db'), { readonly: true }) };
}

interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  wallS: number;
  rssMb: number;
}

/** `reprofarm --json ARGS` under GNU time; killed (process group) after RUN_TIMEOUT_MS. */
function syncMeasured(cfg: string): Promise<Measured> {
  const timeFile = join(dirname(cfg), 'time.out');
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-o', timeFile, '-f', '%e %M', process.execPath, BIN, '--config', cfg, '--json', 'sync'], {
      cwd: ROOT,
      env: { ...process.env, REPROFARM_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-(child.pid as number), 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (killed) {
        reject(new Error(`reprofarm sync was still running after ${RUN_TIMEOUT_MS / 1000} s and was killed; stderr: ${stderr.slice(-2000)}`));
        return;
      }
      const f = /([\d.]+) (\d+)\s*$/.exec(readFileSync(timeFile, 'utf8'));
      if (!f) {
        reject(new Error(`cannot read GNU time's output in ${timeFile}; stderr: ${stderr.slice(-2000)}`));
        return;
      }
      resolve({ code, stdout, stderr, wallS: Number(f[1]), rssMb: Number(f[2]) / 1024 });
    });
  });
}

const xz = async (data: Buffer): Promise<Buffer> => (await runTool('xz', ['-9', '-T1', '-c'], { input: data })).stdout;

/**
 * A compressed file that decompresses to `total` bytes: `piece` repeated,
 * compressed once, and that stream concatenated (xz and gzip both read
 * concatenated streams as one file). 1 GiB of one letter is about 160 KB of xz.
 */
async function bomb(kind: 'xz' | 'gz', piece: Buffer, total: number): Promise<Buffer> {
  const block = Buffer.alloc(Math.ceil((16 << 20) / piece.length) * piece.length, piece);
  const one = kind === 'xz' ? await xz(block) : gzipSync(block, { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(total / block.length) }, () => one));
}

const REL = { xz: 'main/source/Sources.xz', gz: 'main/source/Sources.gz', plain: 'main/source/Sources' } as const;

/** Serve `data` as the suite's only Sources variant, under a Release signed with the mirror's key listing `listed` (default: `data`). */
async function publish(suite: string, rel: string, data: Buffer, listed: Buffer = data): Promise<void> {
  const file = mirror.distPath(suite, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  await mirror.writeRawRelease(suite, releaseText(suite, [[rel, listed]]), { sign: 'inrelease' });
}

/** a genuine index of one source package: what the harness wrote for bookworm */
const genuineSources = (): Buffer => readFileSync(mirror.distPath('bookworm', 'main/source/Sources'));

/** the suite failed and nothing of it is in the DB; bookworm, synced in the same run, is */
function expectNothingRecorded(db: () => Database.Database, suite: string): void {
  const d = db();
  try {
    expect(d.prepare('SELECT COUNT(*) AS n FROM sources WHERE suite = ?').get(suite), suite).toEqual({ n: 0 });
    expect(d.prepare('SELECT COUNT(*) AS n FROM schedule WHERE suite = ?').get(suite), suite).toEqual({ n: 0 });
    expect(d.prepare('SELECT COUNT(*) AS n FROM sync_state WHERE suite = ?').get(suite), suite).toEqual({ n: 0 });
    expect(d.prepare("SELECT COUNT(*) AS n FROM sources WHERE suite = 'bookworm'").get()).toEqual({ n: 1 });
  } finally {
    d.close();
  }
}

function expectBounded(r: Measured, what: string): void {
  expect(r.wallS, `${what}: wall time`).toBeLessThan(MAX_WALL_S);
  expect(r.rssMb, `${what}: peak RSS, MB`).toBeLessThan(MAX_RSS_MB);
}

describe('sync against a hostile mirror', () => {
  it("a mirror's Sources.xz (or .gz) that decompresses to one endless line is refused in bounded time and memory, recording nothing", async () => {
    for (const kind of ['xz', 'gz'] as const) {
      const suite = `endless-${kind}`;
      await publish(suite, REL[kind], await bomb(kind, Buffer.from('a'), GIB));
      const { cfg, db } = setup([suite, 'bookworm']);
      const r = await syncMeasured(cfg);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${suite}: FAILED, nothing recorded for it`);
      expect(r.stderr).toMatch(new RegExp(`dists/${suite}/main/source/Sources\\.${kind} line 1 is longer than 1048576 bytes \\(sync\\.max_line_bytes\\)`));
      expect(r.stderr).toMatch(/raise sync\.max_line_bytes/);
      expectBounded(r, suite);
      expectNothingRecorded(db, suite);
    }
  }, 120_000);

  it('a Sources.xz swapped behind a correct signature is refused by its checksum before anything of it is decompressed or parsed', async () => {
    // the swapped file has the very size the Release lists: an endless line, padded with xz stream padding
    const genuine = await xz(genuineSources());
    const hostile = await bomb('xz', Buffer.from('a'), GIB);
    const size = Math.ceil(Math.max(genuine.length, hostile.length) / 4) * 4 + 4;
    const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc(size - b.length)]);
    await publish('swapped', REL.xz, pad(hostile), pad(genuine));
    const { cfg, db } = setup(['swapped', 'bookworm']);
    const r = await syncMeasured(cfg);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `dists/swapped/main/source/Sources\\.xz does not match its Release file: SHA256 [0-9a-f]{64} \\(${size} bytes\\), expected [0-9a-f]{64} \\(${size} bytes\\)`,
      ),
    );
    // the checksum, not a limit on what was decompressed, refused it
    expect(r.stderr).not.toMatch(/max_line_bytes|max_expansion/);
    expectBounded(r, 'swapped');
    expectNothingRecorded(db, 'swapped');
  }, 120_000);

  it('a mirror that sends more of a Sources.xz than the Release file lists is cut off at that size', async () => {
    // the Release lists the genuine file; the intercept sends it, then zero bytes for ever
    await publish('toolong', REL.xz, await xz(genuineSources()));
    const listed = readFileSync(mirror.distPath('toolong', REL.xz)).length;
    const { cfg, db } = setup(['toolong', 'bookworm']);
    const r = await syncMeasured(cfg);
    await endlessClosed;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`dists/toolong/main/source/Sources\\.xz is larger than its Release file says: more than ${listed} bytes arrived; reading stopped there`),
    );
    // what the server got rid of before the client hung up: the socket buffers, not the endless body
    expect(endlessSent).toBeLessThan(64 << 20);
    expectBounded(r, 'toolong');
    expectNothingRecorded(db, 'toolong');
  }, 120_000);

  it('a signed Sources.xz (or .gz) that decompresses to far more than sync.max_expansion times its size is refused; the multiple is configurable', async () => {
    // valid stanzas over and over: no line or stanza limit is reached, only the size
    const stanza = Buffer.from(genuineSources().toString('utf8').replace(/\n*$/, '\n\n'));
    for (const kind of ['xz', 'gz'] as const) {
      const suite = `expands-${kind}`;
      // gzip packs this about 200:1 (xz some 5000:1): 1 GiB of it is 5 MB, and its 20 times 100 MB are parsed before the refusal
      const data = await bomb(kind, stanza, kind === 'xz' ? 4 * GIB : GIB);
      await publish(suite, REL[kind], data);
      const { cfg, db } = setup([suite, 'bookworm']);
      const r = await syncMeasured(cfg);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(
          `dists/${suite}/main/source/Sources\\.${kind} decompresses to more than ${20 * data.length} bytes, 20 times its ${data.length} bytes \\(sync\\.max_expansion\\)`,
        ),
      );
      expect(r.stderr).toMatch(/raise sync\.max_expansion/);
      expectBounded(r, suite);
      expectNothingRecorded(db, suite);
    }
    // a genuine index refused with max_expansion 1 (it is smaller compressed) and read with the default
    await publish('genuine', REL.xz, await xz(genuineSources()));
    const s = await syncMeasured(setup(['genuine'], 'sync: { max_expansion: 1 }').cfg);
    expect(s.code, s.stderr).toBe(1);
    expect(s.stderr).toMatch(/dists\/genuine\/main\/source\/Sources\.xz decompresses to more than \d+ bytes, 1 times its \d+ bytes \(sync\.max_expansion\)/);
    const ok = await syncMeasured(setup(['genuine']).cfg);
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  it("a mirror's Sources stanza that never ends is refused at sync.max_stanza_bytes in bounded time and memory", async () => {
    // one stanza: a kept field (Checksums-Sha256) continued by short lines for 1 GiB, no blank line
    const head = 'Package: endless\nVersion: 1.0\nArchitecture: any\nDirectory: pool/main/e/endless\nChecksums-Sha256:\n';
    const lines = await bomb('xz', Buffer.from(` ${'0'.repeat(64)} 1 endless_1.0.dsc\n`), GIB);
    await publish('endless-stanza', REL.xz, Buffer.concat([await xz(Buffer.from(head)), lines]));
    // a generous sync.max_expansion (1000 times its 170 KB), so that the stanza limit is the one reached
    const { cfg, db } = setup(['endless-stanza', 'bookworm'], 'sync: { max_expansion: 1000 }');
    const r = await syncMeasured(cfg);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/dists\/endless-stanza\/main\/source\/Sources\.xz lines 1-\d+: a stanza larger than 8388608 bytes \(sync\.max_stanza_bytes\)/);
    expect(r.stderr).toMatch(/raise sync\.max_stanza_bytes/);
    expectBounded(r, 'endless-stanza');
    expectNothingRecorded(db, 'endless-stanza');
  }, 120_000);

  it("ten million malformed stanzas in a mirror's Sources are reported as the first 100 and a count of the rest, in bounded memory", async () => {
    const n = 10_000_000;
    await publish('malformed', REL.plain, Buffer.concat([genuineSources(), Buffer.from('\n'), Buffer.from('x\n\n'.repeat(n))]));
    const { cfg, db } = setup(['malformed']);
    const r = await syncMeasured(cfg);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { suites: Array<{ sources: number; problems: Array<{ line: number; message: string }>; problems_total: number }> };
    const s = out.suites[0]!;
    expect(s.sources).toBe(1);
    expect(s.problems).toHaveLength(100);
    expect(s.problems_total).toBe(n);
    expect(s.problems[0]!.message).toBe('not a "Field: value" line: "x"; stanza skipped');
    expect(r.stderr).toMatch(new RegExp(`warning: malformed: ${n} Sources stanza\\(s\\) skipped`));
    expect(r.stderr).toMatch(new RegExp(`and ${n - 10} more`));
    expect(r.rssMb, 'peak RSS, MB').toBeLessThan(MAX_RSS_MB);
    const d = db();
    expect(d.prepare("SELECT name FROM sources WHERE suite = 'malformed'").all()).toEqual([{ name: 'hello' }]);
    d.close();
  }, 120_000);
});
