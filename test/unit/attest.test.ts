import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { signEnvelope } from '../../attest/dsse.js';
import { initKey, keyIdOf, loadSigningKey, readKeyIndex, rotateKey } from '../../attest/keys.js';
import { makeStatement, type VerdictPredicate } from '../../attest/statement.js';
import { verifyBundle, verifyDeb, type KeySource } from '../../attest/verify.js';
import { STATE_LAYOUT } from '../../core/protocol.js';
import { STATUSES } from '../../core/statuses.js';
import { attestRecord } from '../../attest/record.js';
import type { Config } from '../../core/config.js';
import type { PairRecord } from '../../db/builds.js';
import type { ClaimKey } from '../../db/queue.js';
import { main } from '../../cli/main.js';

const SHA = 'a'.repeat(64);

function predicate(over: Partial<VerdictPredicate> = {}): VerdictPredicate {
  const build = (n: 1 | 2) => ({
    build: n,
    node: `n${n}`,
    node_information_sha256: null,
    variations: { TZ: 'Etc/GMT+12' },
    not_applied: {},
    started_at: '2026-12-01T00:00:00.000Z',
    duration_s: 3,
    exit_code: 0,
    result: 'built',
    artifacts: [{ name: 'hello_1.0_amd64.deb', digest: { sha256: SHA } }],
  });
  return {
    package: 'hello',
    version: '1.0',
    suite: 'bookworm',
    architecture: 'amd64',
    source: { dsc: { url: 'http://m/hello_1.0.dsc', sha256: SHA } },
    status: 'reproducible',
    reason: null,
    recorded_at: '2026-12-01T00:01:00.000Z',
    issued_at: new Date().toISOString(),
    builds: [build(1), build(2)],
    verdict: null,
    ...over,
  };
}

let state: string;
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'attest-'));
});

function sign(p: VerdictPredicate): string {
  const k = loadSigningKey(state)!;
  return JSON.stringify(signEnvelope(Buffer.from(JSON.stringify(makeStatement(p))), k.key, k.keyid));
}
const index = (): KeySource => ({ index: readKeyIndex(state)! });

describe('keys', () => {
  it('init makes a 0600 Ed25519 key whose keyid is the SHA256 of its SPKI, and refuses to overwrite', async () => {
    const e = await initKey(state);
    const file = STATE_LAYOUT.signingKey(state);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(keyIdOf(createPublicKey(createPrivateKey(readFileSync(file))))).toBe(e.keyid);
    await expect(initKey(state)).rejects.toThrow(/has a signing key already/);
  });
});

describe('verify', () => {
  beforeEach(async () => {
    await initKey(state);
  });
  it('checks a good attestation and names the build', () => {
    const v = verifyBundle(sign(predicate()), index());
    expect(v.statement.predicate.package).toBe('hello');
    expect(v.statement.subject).toEqual([{ name: 'hello_1.0_amd64.deb', digest: { sha256: SHA } }]);
  });
  it('a failed build has no subjects', () => {
    expect(verifyBundle(sign(predicate({ status: 'FTBFS' })), index()).statement.subject).toEqual([]);
  });
  it('refuses a tampered payload and a tampered signature', () => {
    const env = JSON.parse(sign(predicate())) as { payload: string; signatures: { sig: string }[] };
    const body = Buffer.from(env.payload, 'base64').toString().replace('reproducible', 'FTBR');
    expect(() => verifyBundle(JSON.stringify({ ...env, payload: Buffer.from(body).toString('base64') }), index())).toThrow(/does not match/);
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    sig[0]! ^= 1;
    env.signatures[0]!.sig = sig.toString('base64');
    expect(() => verifyBundle(JSON.stringify(env), index())).toThrow(/does not match/);
  });
  it('refuses an unknown key, and another key given with --key', async () => {
    const line = sign(predicate());
    const other = mkdtempSync(join(tmpdir(), 'attest-other-'));
    await initKey(other);
    expect(() => verifyBundle(line, { index: readKeyIndex(other)! })).toThrow(/not a key this check knows/);
    expect(() => verifyBundle(line, { key: createPublicKey(readKeyIndex(other)!.keys[0]!.public_key) })).toThrow(/not a key/);
  });
  it('a retired key verifies what it signed while valid, not what it signed after', async () => {
    const before = sign(predicate());
    const old = loadSigningKey(state)!;
    await rotateKey(state, new Date(Date.now() + 1000));
    expect(verifyBundle(before, index()).keyid).toBe(old.keyid);
    const late = predicate({ issued_at: new Date(Date.now() + 5000).toISOString() });
    const afterLine = JSON.stringify(signEnvelope(Buffer.from(JSON.stringify(makeStatement(late))), old.key, old.keyid));
    expect(() => verifyBundle(afterLine, index())).toThrow(/valid from/);
    expect(loadSigningKey(state)!.keyid).not.toBe(old.keyid);
    expect(verifyBundle(sign(predicate({ issued_at: new Date(Date.now() + 2000).toISOString() })), index()).keyid).not.toBe(old.keyid);
  });
  it('hostile envelopes are refused with a reason, never thrown as something else', () => {
    for (const bad of ['', 'nope', '[]', '{"payloadType":"x"}', '{"payloadType":"application/vnd.in-toto+json","payload":"!!","signatures":[]}']) {
      expect(() => verifyBundle(bad, index())).toThrow(/AttestationError|empty|not JSON|payloadType|payload|signatures|object/);
    }
  });
  it('a .deb is checked against the site attestation of its source; a statement of another package does not vouch for it', async () => {
    const site = mkdtempSync(join(tmpdir(), 'attest-site-'));
    const pkg = join(site, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN', 'control'), 'Package: hello\nVersion: 1.0\nArchitecture: amd64\nMaintainer: a <a@b.org>\nDescription: x\n');
    const deb = join(site, 'hello_1.0_amd64.deb');
    execFileSync('dpkg-deb', ['--build', pkg, deb], { stdio: 'ignore' });
    const sha = execFileSync('sha256sum', [deb]).toString().split(' ')[0]!;
    const art = [{ name: 'hello_1.0_amd64.deb', digest: { sha256: sha } }];
    const p = predicate();
    for (const b of p.builds) b.artifacts = art;
    mkdirSync(join(site, 'attestations/bookworm/amd64'), { recursive: true });
    mkdirSync(join(site, 'keys'));
    writeFileSync(join(site, 'keys/index.json'), readFileSync(STATE_LAYOUT.keyIndex(state)));
    const att = join(site, 'attestations/bookworm/amd64/hello_1.0.intoto.jsonl');
    writeFileSync(att, `${sign(p)}\n`);
    const v = await verifyDeb(deb, site, ['bookworm'], ['amd64']);
    expect(v.file).toMatchObject({ sha256: sha, builds: [1, 2] });
    // another package's statement in hello's place: its subjects do not hold the .deb
    writeFileSync(att, `${sign(predicate({ package: 'other' }))}\n`);
    await expect(verifyDeb(deb, site, ['bookworm'], ['amd64'])).rejects.toThrow(/not a subject/);
    // the CLI: exit 0, then 1 with the reason, 64 for usage
    writeFileSync(att, `${sign(p)}\n`);
    const io = () => {
      const chunks: string[] = [];
      const w = { write: (s: string) => chunks.push(s) > 0 };
      return { err: w as unknown as typeof process.stderr, out: w as unknown as typeof process.stdout, text: () => chunks.join('') };
    };
    const a = io();
    expect(await main(['verify', deb, '--site', site], a)).toBe(0);
    expect(a.text()).toMatch(/hello 1\.0 bookworm\/amd64: reproducible/);
    writeFileSync(att, `${sign(predicate({ package: 'other' }))}\n`);
    const b = io();
    expect(await main(['verify', deb, '--site', site], b)).toBe(1);
    expect(b.text()).toMatch(/not-a-subject/);
    expect(await main(['verify'], io())).toBe(64);
    const c = io();
    writeFileSync(att, '{"garbage":\n');
    expect(await main(['verify', att, '--site', site], c)).toBe(1);
    expect(c.text()).toMatch(/malformed/);
  });
  it('every status a result can be recorded with round-trips: attestRecord as ClaimRun signs it, verify checks it', async () => {
    const site = mkdtempSync(join(tmpdir(), 'attest-site-'));
    mkdirSync(join(site, 'keys'));
    writeFileSync(join(site, 'keys/index.json'), readFileSync(STATE_LAYOUT.keyIndex(state)));
    const config = { stateDir: state, mirror: 'http://mirror.invalid/debian/' } as unknown as Config;
    const claim = {
      id: 1,
      suite: 'bookworm',
      arch: 'amd64',
      package: 'hello',
      version: '1:2.0-1',
      dsc_path: 'pool/h/hello.dsc',
      dsc_sha256: SHA,
    } as unknown as ClaimKey;
    for (const status of STATUSES.filter((x) => x !== 'untested')) {
      const built = status === 'reproducible' || status === 'FTBR';
      const run = (n: 1 | 2) => ({
        buildNumber: n,
        node: `n${n}`,
        startedAt: '2026-12-01T00:00:00.000Z',
        durationS: 1,
        exitCode: built ? 0 : 1,
        result: built ? 'built' : status,
        variations: {},
        notApplied: {},
        artifacts: built ? [{ name: 'hello_2.0-1_amd64.deb', sha256: n === 1 || status === 'reproducible' ? SHA : 'b'.repeat(64) }] : [],
      });
      const rec = {
        status,
        job: 'j',
        node1: 'n1',
        node2: 'n2',
        durationS: 2,
        reason: built ? null : `why ${status}`,
        report: null,
        runs: built ? [run(1), run(2)] : [run(1)],
      } as PairRecord;
      const att = await attestRecord(config, claim, rec, new Date());
      const file = join(site, `${status}.intoto.jsonl`);
      writeFileSync(file, `${att!.envelope}\n`);
      const chunks: string[] = [];
      const w = { write: (t: string) => chunks.push(t) > 0 };
      const code = await main(['--json', 'verify', file, '--site', site], {
        err: w as unknown as typeof process.stderr,
        out: w as unknown as typeof process.stdout,
      });
      expect(code, `${status}: ${chunks.join('')}`).toBe(0);
      const text = chunks.join('');
      expect(text).toContain(`hello 1:2.0-1 bookworm/amd64: ${status}`);
      const json = JSON.parse(text.slice(text.indexOf('{'))) as {
        statement: { subject: Array<{ digest: { sha256: string } }>; predicate: { source: unknown } };
      };
      expect(json.statement.subject.map((x) => x.digest.sha256)).toEqual(status === 'FTBR' ? [SHA, 'b'.repeat(64)] : built ? [SHA] : []);
      expect(json.statement.predicate.source).toEqual({ dsc: { url: 'http://mirror.invalid/debian/pool/h/hello.dsc', sha256: SHA } });
    }
  });
});
