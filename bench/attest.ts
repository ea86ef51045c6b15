/**
 * Attestation costs (issue 20, point 5), printed by the build benchmark and
 * alone with `npx tsx bench/attest.ts`:
 *
 * (a) signing: attest/record.ts attestRecord, what ClaimRun.record adds per
 *     recorded result (the key read, both node-information digests, the
 *     statement, the Ed25519 signature), on a pair of 2 x 8 artifacts, the
 *     median and 95th percentile of 500 calls after 20, against the same call
 *     on a farm without a key. Goal: under 5 ms.
 * (b) `reprofarm verify FILE.deb --site DIR` as a user runs it (a new process:
 *     Node's start-up, dpkg-deb, the SHA256, the signature), a real .deb made
 *     by dpkg-deb and its attestation as the site publishes it; the median of
 *     7 runs. Goal: under 0.3 s.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initKey, indexText, readKeyIndex } from '../attest/keys.js';
import { attestRecord } from '../attest/record.js';
import { ATTESTATION_SITE_LAYOUT as L } from '../attest/site-layout.js';
import type { Config } from '../core/config.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import type { PairRecord } from '../db/builds.js';
import type { ClaimKey } from '../db/queue.js';
import { buildDist, fmt, median, ROOT, runIfMain, table } from './lib.js';

export const ATTEST_GOALS = { signMs: 5, verifyS: 0.3 };
const SIGN_RUNS = 500;
const VERIFY_RUNS = 7;

function pair(debSha: string): PairRecord {
  const run = (n: 1 | 2) => ({
    buildNumber: n,
    node: `n${n}`,
    startedAt: new Date().toISOString(),
    durationS: 42.5,
    exitCode: 0,
    result: 'built',
    variations: { TZ: n === 1 ? 'Etc/GMT+12' : 'Etc/GMT-14', HOSTNAME: n === 1 ? 'n1' : 'i-capture-the-hostname', LANG: n === 1 ? 'C' : 'et_EE.UTF-8' },
    notApplied: {},
    artifacts: [
      { name: 'hello_2.10-3_amd64.deb', sha256: debSha },
      ...Array.from({ length: 7 }, (_, i) => ({ name: `hello-extra${i}_2.10-3_amd64.deb`, sha256: `${i}`.repeat(64) })),
    ],
  });
  return { status: 'reproducible', job: 'j', node1: 'n1', node2: 'n2', durationS: 90, reason: null, report: null, runs: [run(1), run(2)] };
}

const claim = {
  id: 1,
  suite: 'bookworm',
  arch: 'amd64',
  package: 'hello',
  version: '2.10-3',
  dsc_path: 'pool/main/h/hello/hello_2.10-3.dsc',
  dsc_sha256: 'a'.repeat(64),
} as unknown as ClaimKey;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
}

async function timeSign(config: Config, rec: PairRecord): Promise<number[]> {
  for (let i = 0; i < 20; i++) await attestRecord(config, claim, rec, new Date());
  const ms: number[] = [];
  for (let i = 0; i < SIGN_RUNS; i++) {
    const t = performance.now();
    await attestRecord(config, claim, rec, new Date());
    ms.push(performance.now() - t);
  }
  return ms;
}

/** A real .deb of source hello 2.10-3, by dpkg-deb. */
async function makeDeb(dir: string): Promise<string> {
  const root = path.join(dir, 'pkg');
  await fs.mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await fs.mkdir(path.join(root, 'usr/share/doc/hello'), { recursive: true });
  await fs.writeFile(path.join(root, 'usr/share/doc/hello/README'), 'hello\n'.repeat(10_000));
  await fs.writeFile(
    path.join(root, 'DEBIAN/control'),
    'Package: hello\nSource: hello\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: A <a@example.org>\nDescription: bench\n',
  );
  const deb = path.join(dir, 'hello_2.10-3_amd64.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' });
  return deb;
}

export async function attestFigures(tmp: string): Promise<{ signMs: number; verifyS: number }> {
  const state = path.join(tmp, 'attest-state');
  const site = path.join(tmp, 'attest-site');
  const deb = await makeDeb(tmp);
  const sha = execFileSync('sha256sum', [deb], { encoding: 'utf8' }).split(' ')[0] ?? '';
  const config = { stateDir: state, mirror: 'http://mirror.invalid/debian' } as unknown as Config;
  await fs.mkdir(STATE_LAYOUT.nodeInformation(state, 'n1').replace(/\/[^/]+$/, ''), { recursive: true });
  for (const n of ['n1', 'n2']) await fs.writeFile(STATE_LAYOUT.nodeInformation(state, n), 'KEY=value\n'.repeat(200));
  const rec = pair(sha);
  const unsigned = await timeSign(config, rec);
  await initKey(state);
  const signed = await timeSign(config, rec);
  const att = await attestRecord(config, claim, rec, new Date());
  await fs.mkdir(path.join(site, L.dir('bookworm', 'amd64')), { recursive: true });
  await fs.writeFile(path.join(site, L.attestation('bookworm', 'amd64', 'hello', '2.10-3')), `${att?.envelope ?? ''}\n`);
  await fs.mkdir(path.join(site, 'keys'));
  await fs.writeFile(path.join(site, L.keyIndex), indexText(readKeyIndex(state)!));
  const cli = path.join(ROOT, 'bin', 'reprofarm.js');
  const wall: number[] = [];
  for (let i = 0; i < VERIFY_RUNS + 1; i++) {
    const t = performance.now();
    const r = spawnSync('node', [cli, 'verify', deb, '--site', site], { cwd: tmp, encoding: 'utf8', env: { ...process.env, REPROFARM_CONFIG: '' } });
    if (r.status !== 0) throw new Error(`verify exited ${r.status}: ${r.stderr}`);
    if (i > 0) wall.push((performance.now() - t) / 1000);
  }
  const signMs = median(signed) - median(unsigned);
  const verifyS = median(wall);
  const pass = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
  console.log(
    `\nattestations: signing per recorded result (${SIGN_RUNS} calls, 2 x 8 artifacts), verify of one .deb (${VERIFY_RUNS} runs, a new process each):`,
  );
  console.log(
    table(
      ['measure', 'median', 'p95', 'without a key', 'goal', ''],
      [
        [
          'attestRecord, ms',
          fmt(median(signed), 3),
          fmt(percentile(signed, 0.95), 3),
          fmt(median(unsigned), 3),
          `< ${ATTEST_GOALS.signMs} ms added`,
          pass(signMs < ATTEST_GOALS.signMs),
        ],
        [
          'reprofarm verify FILE.deb --site DIR, s',
          fmt(verifyS, 3),
          fmt(percentile(wall, 0.95), 3),
          '',
          `< ${ATTEST_GOALS.verifyS} s`,
          pass(verifyS < ATTEST_GOALS.verifyS),
        ],
      ],
    ),
  );
  return { signMs, verifyS };
}

export async function run(): Promise<void> {
  console.log(`== attest: signing and verifying (${os.cpus().length} CPUs) ==`);
  console.log(`built   dist/ with npm run build in ${fmt(buildDist(), 1)} s`);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reprofarm-bench-attest-'));
  try {
    await attestFigures(tmp);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

// `npx tsx bench/attest.ts`: these figures alone
await runIfMain('attest', import.meta.url, run);
