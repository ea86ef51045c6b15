/**
 * Notifications end to end: a real reproducible.db whose recorded builds produce the events, a
 * node:http receiver on 127.0.0.1 that fails and then recovers, and a stand-in sendmail (a sh
 * script) that records its argv and stdin. Delivery is driven with a `now` so the backoff and the
 * hourly budget are checked without waiting.
 */
import { createHmac } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../core/config.js';
import { dbFile } from '../../core/paths.js';
import { recordBuild, type PairRecord } from '../../db/builds.js';
import { openDb, type FarmDb } from '../../db/index.js';
import { syncMaintainers } from '../../db/maintainers.js';
import { pendingDeliveries } from '../../db/notify.js';
import { claimNext } from '../../db/queue.js';
import { deliverPending, type DestinationResult } from '../../notify/outbox.js';
import { scheduleSource } from '../harness/farm-data.js';
import { runCli } from '../helpers/cli.js';

interface Got {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Answers 500 to the first `failFirst` POSTs, then 200; keeps every request. */
class Receiver {
  failFirst = 0;
  got: Got[] = [];
  private server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      this.got.push({ headers: req.headers, body });
      res.statusCode = this.got.length <= this.failFirst ? 500 : 200;
      res.end();
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
  events(): { id: string; package: string; old_status: string; status: string }[] {
    return this.got.flatMap((g) => (JSON.parse(g.body) as { events: { id: string; package: string; old_status: string; status: string }[] }).events);
  }
}

const SECRET = 'a0b1c2d3e4f5-test-secret';
const T0 = new Date('2026-12-01T10:00:00.000Z');
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

let dirs: string[] = [];
let recv: Receiver;
beforeAll(async () => {
  recv = new Receiver();
  await recv.start();
});
afterAll(() => recv.stop());
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
  recv.got = [];
  recv.failFirst = 0;
});

interface Farm {
  dir: string;
  configFile: string;
  config: Config;
  db: FarmDb;
  mailLog: string;
}

/** A config on a temp state_dir; `notify` is the YAML of its notify mapping (indented by 2). */
function farm(notify: (f: { url: string; secret: string; sendmail: string }) => string): Farm {
  const f = writeFarm(notify);
  const { config } = loadConfig({ path: f.configFile });
  return { ...f, config, db: openDb(dbFile(config.stateDir)) };
}

function writeFarm(notify: (f: { url: string; secret: string; sendmail: string }) => string): Omit<Farm, 'config' | 'db'> {
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-notify-'));
  dirs.push(dir);
  const secret = join(dir, 'hook.secret');
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  const sendmail = join(dir, 'sendmail');
  const mailLog = join(dir, 'mail.log');
  writeFileSync(sendmail, `#!/bin/sh\n{ echo "ARGV: $*"; cat; echo "--END--"; } >> '${mailLog}'\n`, { mode: 0o755 });
  chmodSync(sendmail, 0o755);
  const configFile = join(dir, 'reprofarm.yaml');
  writeFileSync(
    configFile,
    [
      'state_dir: ./state',
      'site_dir: ./public',
      'suites: [sid]',
      'architectures: [amd64]',
      'nodes:',
      '  node-a: { transport: local, workdir: ./state/nodes/node-a }',
      '  node-b: { transport: local, workdir: ./state/nodes/node-b }',
      'jobs:',
      '  j: { nodes: [node-a, node-b] }',
      'notify:',
      notify({ url: recv.url, secret, sendmail }),
      '',
    ].join('\n'),
  );
  return { dir, configFile, mailLog };
}

/** Schedule, claim and record one build as the orchestrator does. */
function build(db: FarmDb, pkg: string, status: PairRecord['status'], when: Date, version = '1'): void {
  scheduleSource(db, pkg, version, when.toISOString());
  const claim = claimNext(db, 'amd64', 'j', when);
  if (claim?.package !== pkg) throw new Error(`expected a claim of ${pkg}`);
  recordBuild(db, claim, { status, job: 'j', node1: 'node-a', node2: 'node-b', durationS: 1, reason: null, report: null, runs: [] }, when);
}

const deliver = (f: Farm, s: number, o: { afterSend?: (d: string) => void } = {}): Promise<DestinationResult[]> =>
  deliverPending(f.config, f.db, { now: () => at(s), ...o });

const webhookOnly = (c: { url: string; secret: string }, extra = ''): string =>
  `  webhooks:\n    - { url: "${c.url}", secret_file: ${c.secret}${extra} }\n  retry_base: 60\n  timeout: 5`;

describe('notify', () => {
  it('retries a failing receiver after its backoff, loses nothing, resends the same ids, signs each body', async () => {
    const f = farm((c) => webhookOnly(c));
    await deliver(f, 0); // the destination is first seen: it is not sent the farm's history
    build(f.db, 'a', 'reproducible', at(1));
    build(f.db, 'b', 'FTBFS', at(2));
    build(f.db, 'a', 'FTBR', at(3));
    build(f.db, 'a', 'FTBR', at(4)); // no change: no event
    recv.failFirst = 2;
    const [r1] = await deliver(f, 10);
    expect(r1).toMatchObject({ delivered: 0, failed: 3, rateLimited: false });
    expect(r1?.error).toContain('HTTP 500');
    expect(pendingDeliveries(f.db)).toEqual([expect.objectContaining({ pending: 3, next_attempt_at: at(70).toISOString() })]);
    // before the backoff: nothing is tried
    await deliver(f, 69);
    expect(recv.got).toHaveLength(1);
    // after it: a second failure doubles the wait (120 s)
    expect((await deliver(f, 70))[0]?.error).toContain('HTTP 500');
    await deliver(f, 70 + 119);
    expect(recv.got).toHaveLength(2);
    const [r3] = await deliver(f, 70 + 120);
    expect(r3).toMatchObject({ delivered: 3, messages: 1, failed: 0, error: null });
    expect(pendingDeliveries(f.db)).toEqual([]);
    expect(recv.events().map((e) => `${e.package}:${e.old_status}->${e.status}`)).toEqual([
      ...['a:untested->reproducible', 'b:untested->FTBFS', 'a:reproducible->FTBR'],
      ...['a:untested->reproducible', 'b:untested->FTBFS', 'a:reproducible->FTBR'],
      ...['a:untested->reproducible', 'b:untested->FTBFS', 'a:reproducible->FTBR'],
    ]);
    const ids = recv.got.map((g) => (JSON.parse(g.body) as { events: { id: string }[] }).events.map((e) => e.id).join(','));
    expect(new Set(ids).size).toBe(1);
    for (const g of recv.got) {
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['x-reprofarm-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(g.body).digest('hex')}`);
      expect(g.headers['x-reprofarm-signature']).not.toBe(`sha256=${createHmac('sha256', 'wrong').update(g.body).digest('hex')}`);
    }
    expect(JSON.parse(recv.got[2]!.body)).toMatchObject({ type: 'status-changes', delivery: recv.got[2]!.headers['x-reprofarm-delivery'] });
    await deliver(f, 100_000);
    expect(recv.got).toHaveLength(3);
  });

  it('batches by max_events_per_message and stops at max_messages_per_hour until the hour passed', async () => {
    const f = farm((c) => `${webhookOnly(c)}\n  max_events_per_message: 2\n  max_messages_per_hour: 2`);
    await deliver(f, 0);
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5']) build(f.db, p, 'reproducible', at(1));
    const [r1] = await deliver(f, 10);
    expect(r1).toMatchObject({ delivered: 4, messages: 2, rateLimited: true, error: null });
    expect(recv.got.map((g) => (JSON.parse(g.body) as { events: unknown[] }).events.length)).toEqual([2, 2]);
    expect((await deliver(f, 3000))[0]).toMatchObject({ delivered: 0, rateLimited: true });
    const [r2] = await deliver(f, 3611);
    expect(r2).toMatchObject({ delivered: 1, messages: 1, rateLimited: false });
    expect(recv.events().map((e) => e.package)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('a crash between the send and its mark sends that batch once more, after the lease, and no more', async () => {
    const f = farm((c) => webhookOnly(c));
    await deliver(f, 0);
    build(f.db, 'a', 'FTBR', at(1));
    await expect(
      deliver(f, 10, {
        afterSend: () => {
          throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    expect(recv.got).toHaveLength(1);
    await deliver(f, 12); // still leased (timeout + 5 s)
    expect(recv.got).toHaveLength(1);
    expect((await deliver(f, 21))[0]).toMatchObject({ delivered: 1 });
    await deliver(f, 1000);
    expect(recv.got).toHaveLength(2);
    expect(new Set(recv.events().map((e) => e.id)).size).toBe(1);
  });

  it('per-package filters: each destination gets only what it opted in to; mail goes through sendmail', async () => {
    const f = farm(
      (c) =>
        `${webhookOnly(c, ', packages: [wanted]')}\n  mail:\n    sendmail: ${c.sendmail}\n    to: [team@example.org]\n    from: farm@example.org\n    packages: [wanted, other]\n  site_url: https://farm.example.org/`,
    );
    await deliver(f, 0);
    build(f.db, 'wanted', 'FTBR', at(1));
    build(f.db, 'other', 'FTBFS', at(2));
    build(f.db, 'ignored', 'FTBR', at(3));
    const rs = await deliver(f, 10);
    expect(rs.map((r) => [r.destination.replace(/:.*/, ''), r.delivered, r.error])).toEqual([
      ['webhook', 1, null],
      ['mail', 2, null],
    ]);
    expect(recv.events().map((e) => e.package)).toEqual(['wanted']);
    const mail = readFileSync(f.mailLog, 'utf8');
    expect(mail.split('--END--\n').filter(Boolean)).toHaveLength(1);
    expect(mail).toMatch(/^ARGV: -t -oi\n/);
    expect(mail).toContain('To: team@example.org\nFrom: farm@example.org\nSubject: [reprofarm] 2 status changes: wanted, other\n');
    expect(mail).toContain('wanted 1 in sid/amd64: untested -> FTBR\n  https://farm.example.org/rb-pkg/sid/amd64/wanted.html');
    expect(mail).not.toContain('ignored');
  });

  it('per-maintainer filters: a package maintained or uploaded by a named address, as the Sources index says', async () => {
    const f = farm((c) => webhookOnly(c, ', maintainers: [Jane@Example.org]'));
    await deliver(f, 0);
    // what sync records from the Maintainer and Uploaders fields
    const people = (email: string, role: 'maintainer' | 'uploader') => ({ maintainers: [{ email, name: 'X', role }] });
    syncMaintainers(
      f.db,
      'sid',
      new Map([
        ['hers', people('jane@example.org', 'maintainer')],
        ['uploaded', people('jane@example.org', 'uploader')],
        ['theirs', people('other@example.org', 'maintainer')],
      ]),
    );
    for (const [i, p] of ['hers', 'uploaded', 'theirs'].entries()) build(f.db, p, 'FTBR', at(1 + i));
    expect((await deliver(f, 10)).map((r) => [r.delivered, r.error])).toEqual([[2, null]]);
    expect(
      recv
        .events()
        .map((e) => e.package)
        .sort(),
    ).toEqual(['hers', 'uploaded']);
  });

  it('an unreadable secret_file names the key; the other destinations still deliver', async () => {
    const f = farm((c) => `${webhookOnly(c)}\n  mail:\n    sendmail: ${c.sendmail}\n    to: [team@example.org]`);
    await deliver(f, 0);
    rmSync(join(f.dir, 'hook.secret'));
    build(f.db, 'a', 'FTBR', at(1));
    const [hook, mail] = await deliver(f, 10);
    expect(hook?.error).toMatch(/^notify\.webhooks\[0\]\.secret_file: cannot read .*hook\.secret/);
    expect(mail).toMatchObject({ delivered: 1, error: null });
    expect(recv.got).toHaveLength(0);
  });

  it('a config without secret_file is refused naming the key', async () => {
    const f = writeFarm((c) => `  webhooks:\n    - { url: "${c.url}" }`);
    const r = await runCli(['--config', f.configFile, 'notify']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('notify.webhooks[0].secret_file: missing');
  });

  it('`reprofarm notify --test` exits 0 with a delivered test event, nonzero with the reason when the receiver is down', async () => {
    const f = farm((c) => `${webhookOnly(c)}\n  mail:\n    sendmail: ${c.sendmail}\n    to: [team@example.org]`);
    f.db.close();
    const ok = await runCli(['--config', f.configFile, '--json', 'notify', '--test']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      test: true,
      destinations: [
        { delivered: 1, error: null },
        { destination: 'mail', delivered: 1 },
      ],
    });
    expect(recv.got).toHaveLength(1);
    expect(JSON.parse(recv.got[0]!.body)).toMatchObject({ type: 'test', events: [{ type: 'test', package: 'reprofarm-test' }] });
    expect(readFileSync(f.mailLog, 'utf8')).toContain('Subject: [reprofarm] test notification');
    recv.failFirst = 100;
    const down = await runCli(['--config', f.configFile, 'notify', '--test']);
    expect(down.code).toBe(2); // the mail went, the webhook did not
    expect(down.stdout + down.stderr).toContain('HTTP 500');
    const closed = new Receiver();
    await closed.start();
    await closed.stop();
    const onlyHook = writeFarm((c) => webhookOnly({ ...c, url: closed.url }));
    const refused = await runCli(['--config', onlyHook.configFile, 'notify', '--test']);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain(`POST ${closed.url}: connect ECONNREFUSED`);
  });

  it('`reprofarm site` delivers the pending events after it renders, and still renders when the receiver is down', async () => {
    const f = farm((c) => webhookOnly(c));
    await deliverPending(f.config, f.db); // the destination is seen: what follows is new
    build(f.db, 'pkg-a', 'FTBR', new Date(Date.now() - 1000));
    f.db.close();
    recv.failFirst = 1;
    const down = await runCli(['--config', f.configFile, 'site']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain('HTTP 500');
    expect(existsSync(join(f.dir, 'public', 'index.html'))).toBe(true);
    const db = openDb(dbFile(f.config.stateDir));
    // the retry is due: as if its backoff had passed
    db.sql.prepare('UPDATE notify_deliveries SET next_attempt_at = ?').run(new Date(Date.now() - 1000).toISOString());
    db.close();
    const up = await runCli(['--config', f.configFile, 'site']);
    expect(up.code, up.stderr).toBe(0);
    expect(recv.events().map((e) => `${e.package}:${e.status}`)).toEqual(['pkg-a:FTBR', 'pkg-a:FTBR']);
  });
});
