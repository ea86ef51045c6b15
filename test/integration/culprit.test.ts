/**
 * The culprit search on two real sshd nodes (plain backend), real builds:
 * packages of a loopback mirror that each differ for a known reason, built
 * as a pair (FTBR), then `reprofarm culprit` and the worker find why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { BIN, runCli } from '../helpers/cli.js';

let mirror: TestMirror;
let server: MirrorServer;
let farm: SshFarm;
let dir: string;
let cfg: string;

// build 2 keeps build 1's value of these: the search has six variations to halve
const SAME = {
  LC_ALL: 'unset',
  LANGUAGE: 'en_US:en',
  TERM: 'unset',
  HOME: '/nonexistent/first-build',
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  CAPTURE_ENVIRONMENT: 'unset',
  DOMAINNAME: 'node',
  PARALLEL: 'node',
  NICE: '10',
  NOCHECK: 'unset',
  KERNEL_PERSONALITY: 'native',
  DATE: 'real',
};

const PACKAGES = [
  // the offset alone: TZ
  { name: 'rf-tz', version: '1.0', buildScript: 'date +%z > build/tz.txt' },
  // the build path and the host name, each enough on its own
  { name: 'rf-two', version: '1.0', buildScript: 'pwd > build/path.txt; hostname > build/host.txt' },
  // random bytes: differs whatever the variations
  { name: 'rf-random', version: '1.0', buildScript: 'head -c 16 /dev/urandom | od -An -tx1 > build/random.txt' },
  // COLUMNS, without its value in the package: only its length
  { name: 'rf-columns', version: '1.0', buildScript: 'printf "%s" "${COLUMNS:-}" | wc -c > build/len.txt' },
];

beforeAll(async () => {
  mirror = await createTestMirror();
  await mirror.writeSuite({ suite: 'bookworm', packages: PACKAGES });
  server = await mirror.serve();
  dir = mkdtempSync(join(tmpdir(), 'rf-culprit-'));
  chmodSync(dir, 0o755);
  farm = await startSshFarm({ nodes: 2 });
  cfg = join(dir, 'reprofarm.yaml');
  const same = Object.entries(SAME)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ');
  writeFileSync(
    cfg,
    [
      `state_dir: ${join(dir, 'state')}`,
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      'architectures: [amd64]',
      'schedule: { max_per_arch: 0 }',
      farm.nodesYaml(),
      'jobs:',
      `  j: { nodes: [n01, n02], variations: { build2: { ${same} } } }`,
      '',
    ].join('\n'),
  );
  for (const cmd of ['collect', 'sync', 'key init']) {
    const r = await runCli(['--config', cfg, ...cmd.split(' ')]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  for (const p of PACKAGES) {
    const s = await runCli(['--config', cfg, 'schedule', 'bookworm', 'amd64', p.name]);
    if (s.code !== 0) throw new Error(s.stderr);
    const b = await runCli(['--config', cfg, '--json', 'build', 'n01', 'n02']);
    const out = JSON.parse(b.stdout) as { status: string; package: string };
    if (out.status !== 'FTBR') throw new Error(`${p.name}: ${b.stdout} ${b.stderr}`);
  }
}, 600_000);

afterAll(async () => {
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Verdict {
  verdict: string | null;
  culprits: string[];
  why: string | null;
  builds: number;
  steps: Array<{ kind: string; variations: string[]; outcome: string }>;
}

async function culprit(pkg: string): Promise<{ code: number | null; v: Verdict; stderr: string }> {
  const r = await runCli(['--config', cfg, '--json', 'culprit', 'bookworm', 'amd64', pkg]);
  return { code: r.code, v: JSON.parse(r.stdout) as Verdict, stderr: r.stderr };
}

describe('reprofarm culprit', () => {
  it('the hints name what the diff shows at no extra build, and leave the rest to a search', () => {
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    const rows = db.prepare('SELECT package, state, verdict, culprits, source, builds, hints FROM culprit_searches ORDER BY package').all() as Array<{
      package: string;
      state: string;
      verdict: string | null;
      culprits: string;
      source: string | null;
      builds: number;
      hints: string;
    }>;
    db.close();
    const two = rows.find((r) => r.package === 'rf-two');
    expect(two).toMatchObject({ state: 'done', verdict: 'culprits', culprits: '["BUILD_PATH","HOSTNAME"]', source: 'hints', builds: 0 });
    const evidence = JSON.parse(two?.hints ?? '[]') as Array<{ variation: string; file: string; evidence: string }>;
    expect(evidence.find((h) => h.variation === 'HOSTNAME')).toMatchObject({
      file: expect.stringMatching(/rf-two_1\.0_amd64\.deb\/.*host\.txt$/) as unknown,
      evidence: expect.stringMatching(/i-capture-the-hostname/) as unknown,
    });
    // no marker, random bytes: searched
    for (const p of ['rf-columns', 'rf-random']) expect(rows.find((r) => r.package === p)).toMatchObject({ state: 'waiting', verdict: null, builds: 0 });
  });
  it('names the one variation that makes a package differ, halving, one line per step', async () => {
    const { code, v, stderr } = await culprit('rf-tz');
    expect(code, stderr).toBe(0);
    expect(v).toMatchObject({ verdict: 'culprits', culprits: ['TZ'] });
    expect(v.steps[0]).toMatchObject({ kind: 'control', variations: [], outcome: 'same' });
    expect(v.steps[1]).toMatchObject({ kind: 'all', outcome: 'differs' });
    expect(v.steps[1]?.variations.sort()).toEqual(['BUILD_PATH', 'COLUMNS', 'HOSTNAME', 'LANG', 'TZ', 'UMASK']);
    // 6 variations: control, all, 2 + 2 + 2 halves at most, the rest
    expect(v.builds).toBeLessThanOrEqual(9);
    expect(stderr).toMatch(/^step 1: control \(build 1's variations\) on n01\.\.\.$/m);
    expect(stderr).toMatch(/^step 1: same in \d+\.\d s$/m);
    expect(stderr).toMatch(/rf-tz 1\.0 bookworm\/amd64: culprits TZ/);
    // the verdict is signed too: a second attestation of the FTBR result, with it
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    const lines = (db.prepare("SELECT envelope FROM attestations WHERE package = 'rf-tz' ORDER BY id").all() as Array<{ envelope: string }>).map(
      (r) => r.envelope,
    );
    db.close();
    expect(lines).toHaveLength(2);
    const payload = (l: string) =>
      (
        JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, 'base64').toString('utf8')) as {
          predicate: { status: string; verdict: unknown };
        }
      ).predicate;
    expect(payload(lines[0]!)).toMatchObject({ status: 'FTBR', verdict: null });
    expect(payload(lines[1]!)).toMatchObject({ status: 'FTBR', verdict: { verdict: 'culprits', culprits: ['TZ'], source: 'search' } });
    const file = join(dir, 'rf-tz.intoto.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const pub = join(dir, 'farm.pub');
    writeFileSync(
      pub,
      (JSON.parse(readFileSync(join(dir, 'state', 'keys', 'index.json'), 'utf8')) as { keys: Array<{ public_key: string }> }).keys[0]!.public_key,
    );
    const checked = await runCli(['--config', cfg, 'verify', file, '--key', pub]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stderr).toMatch(/verdict: culprits \(TZ\)/);
  }, 600_000);
  it('finds both culprits of a package that has two, and a difference with no marker', async () => {
    const two = await culprit('rf-two');
    expect(two.v, two.stderr).toMatchObject({ verdict: 'culprits', culprits: ['BUILD_PATH', 'HOSTNAME'] });
    const cols = await culprit('rf-columns');
    expect(cols.v, cols.stderr).toMatchObject({ verdict: 'culprits', culprits: ['COLUMNS'] });
  }, 900_000);
  it('says nondeterministic after one build when the control differs, and exit 1 without a verdict', async () => {
    const { code, v } = await culprit('rf-random');
    expect(code).toBe(0);
    expect(v).toMatchObject({ verdict: 'nondeterministic', builds: 1 });
    // a budget of three builds: no verdict, and why
    const poor = join(dir, 'poor.yaml');
    writeFileSync(poor, `${readFileSync(cfg, 'utf8')}culprit: { max_builds_per_package: 3 }\n`);
    const r = await runCli(['--config', poor, '--json', 'culprit', 'bookworm', 'amd64', 'rf-two']);
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'unknown', builds: 3, why: expect.stringMatching(/budget of 3/) as unknown });
    const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    const rows = db.prepare('SELECT package, verdict, source FROM culprit_searches ORDER BY package').all();
    db.close();
    expect(rows).toEqual([
      { package: 'rf-columns', verdict: 'culprits', source: 'search' },
      { package: 'rf-random', verdict: 'nondeterministic', source: 'search' },
      { package: 'rf-two', verdict: 'unknown', source: 'search' },
      { package: 'rf-tz', verdict: 'culprits', source: 'search' },
    ]);
    // a step whose process died: cleanup gives it back, and keeps its work order's package out of the orphans
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare(
      "UPDATE culprit_searches SET state = 'waiting', claimed_by = 'j', claimed_at = ?, claim_host = ?, claim_pid = 999999999 WHERE package = 'rf-two'",
    ).run(new Date().toISOString(), hostname());
    w.close();
    const c = await runCli(['--config', cfg, 'cleanup']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/rf-two 1\.0 bookworm\/amd64 \(a culprit search step of j at .*\): its orchestrator \(pid 999999999\) is gone; given back/);
    const after = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
    expect(after.prepare("SELECT claimed_at FROM culprit_searches WHERE package = 'rf-two'").get()).toEqual({ claimed_at: null });
    after.close();
    const none = await runCli(['--config', cfg, 'culprit', 'bookworm', 'amd64', 'rf-nothing']);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/rf-nothing has no FTBR result in bookworm\/amd64/);
  }, 600_000);

  it('the worker runs the searches on its own when nothing is scheduled, one step at a time, logging each', async () => {
    // rf-tz's search afresh, waiting for the worker
    const w = new Database(join(dir, 'state', 'reproducible.db'));
    w.prepare(
      "UPDATE culprit_searches SET state = 'waiting', verdict = NULL, culprits = '[]', source = NULL, builds = 0, plan = json_set(plan, '$.phase', 'control', '$.groups', json('[]'), '$.found', json('[]'), '$.together', json('[]'), '$.builds', 0) WHERE package = 'rf-tz'",
    ).run();
    w.prepare("DELETE FROM culprit_steps WHERE package = 'rf-tz'").run();
    w.close();
    const child = spawn(process.execPath, [BIN, '--config', cfg, 'worker', 'j'], {
      env: { ...process.env, REPROFARM_CONFIG: '', JOURNAL_STREAM: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const verdict = (): unknown => {
      const db = new Database(join(dir, 'state', 'reproducible.db'), { readonly: true });
      try {
        return (db.prepare("SELECT verdict FROM culprit_searches WHERE package = 'rf-tz'").get() as { verdict: string | null }).verdict;
      } finally {
        db.close();
      }
    };
    const end = Date.now() + 300_000;
    while (verdict() === null && Date.now() < end) await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(verdict(), err).toBe('culprits');
    expect(err).toMatch(/culprit-step job=j package=rf-tz version=1\.0 suite=bookworm arch=amd64 outcome=same\n/);
    expect(err).toMatch(/culprit-step job=j package=rf-tz .* verdict=culprits culprits=TZ\n/);
  }, 400_000);
});
