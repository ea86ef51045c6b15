/// <reference lib="dom" />
/**
 * The README's quick start, end to end: `sh scripts/demo.sh` in a fresh
 * folder (the repository's files linked in; no state, no site), which makes the sample mirror, collects, syncs,
 * builds every sample twice with real dpkg-buildpackage, renders and serves
 * the dashboard; then the served dashboard in Chromium. Run twice: a second
 * run must be safe.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** what the demo writes (or a developer's runs left): not linked into the fresh folder */
const OWN = new Set(['state', 'public', '.git', 'test-results', 'playwright-report', 'reprofarm.yaml']);

interface Demo {
  child: ChildProcess;
  url: string;
  log: string;
  seconds: number;
}

function runDemo(dir: string): Promise<Demo> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [join(dir, 'scripts', 'demo.sh')], {
      cwd: dir,
      env: { ...process.env, REPROFARM_DEMO_PORT: '0', REPROFARM_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const onData = (d: Buffer): void => {
      log += d.toString('utf8');
      const m = /Serving .* on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m?.[1]) resolve({ child, url: m[1], log, seconds: Number(/the farm ran in (\d+) s/.exec(log)?.[1] ?? NaN) });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => reject(new Error(`demo.sh exited ${code} before serving:\n${log.slice(-4000)}`)));
  });
}

test.describe.configure({ mode: 'serial' });

let dir: string;
let demo: Demo;

test.beforeAll(async () => {
  test.setTimeout(600_000);
  // the demo's install step runs npm ci when the installed packages do not match the lock file; here
  // node_modules is the repository's own (linked), so it must be current: sh scripts/install.sh makes it so
  if (
    !existsSync(join(ROOT, 'node_modules', '.reprofarm-installed-lock')) ||
    !readFileSync(join(ROOT, 'package-lock.json')).equals(readFileSync(join(ROOT, 'node_modules', '.reprofarm-installed-lock')))
  ) {
    throw new Error('node_modules does not match package-lock.json: run sh scripts/install.sh first (scripts/test.sh does)');
  }
  dir = mkdtempSync(join(tmpdir(), 'reprofarm-demo-'));
  for (const f of readdirSync(ROOT)) if (!OWN.has(f)) symlinkSync(join(ROOT, f), join(dir, f));
  demo = await runDemo(dir);
});

test.afterAll(() => {
  demo?.child.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the demo builds every sample within 5 minutes and serves the dashboard', async ({ page }) => {
  expect(demo.seconds, demo.log).toBeLessThan(300);
  expect(demo.log).toContain('Synced 1/1 suites');
  expect(demo.log).toMatch(/6 known, 0 untested, FTBFS 1, FTBR 4, reproducible 1; 0 scheduled, 0 building/);
  await page.goto(demo.url);
  const section = page.locator('section.suite').first();
  await expect(section.getByRole('heading', { level: 2 })).toHaveText(/^bookworm \/ [a-z0-9-]+: 16\.7% reproducible$/);
  const count = (status: string) =>
    section
      .locator('tr', { has: page.getByRole('link', { name: status, exact: true }) })
      .locator('td.num')
      .first();
  await expect(count('reproducible')).toHaveText('1');
  await expect(count('FTBR')).toHaveText('4');
  await expect(count('FTBFS')).toHaveText('1');
  await expect(section.locator('svg rect')).not.toHaveCount(0);
});

test('the variation table shows the two local nodes and what each build applied', async ({ page }) => {
  await page.goto(`${demo.url}variations.html`);
  const job = page.locator('#job-reproducible_build_local_1');
  await expect(job.getByRole('heading', { level: 2 })).toContainText('local1 and local2');
  for (const [key, v1, v2] of [
    ['TZ', 'Etc/GMT+12', 'Etc/GMT-14'],
    ['HOSTNAME', '', 'i-capture-the-hostname'],
    ['UMASK', '0022', '0002'],
    ['TERM', 'unset', 'linux'],
  ] as const) {
    const row = job.locator('table.variation:not(.facts) tr', { has: page.locator(`td:text-is("${key}")`) });
    await expect(row).toHaveClass(/differ/);
    if (v1) await expect(row.locator('td').nth(1)).toHaveText(v1);
    await expect(row.locator('td').nth(2)).toHaveText(v2);
  }
  // both nodes are this machine: the facts that should differ between a pair's nodes do not, and the job says so
  await expect(job.locator('.flags')).toContainText('both nodes have the same KERNEL');
});

test('an unreproducible sample links its logs and its diffoscope report, which show the difference', async ({ page, request }) => {
  await page.goto(demo.url);
  await page.locator('section.suite').first().getByRole('link', { name: 'FTBR', exact: true }).click();
  await page.getByRole('link', { name: 'hostname-stamp', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('hostname-stamp');
  await expect(page.locator('.status')).toHaveText('FTBR');
  const report = page.getByRole('link', { name: 'diffoscope report (text)' });
  const text = await (await request.get(new URL((await report.getAttribute('href')) ?? '', page.url()).href)).text();
  expect(text).toContain('i-capture-the-hostname');
  for (const n of [1, 2]) {
    const log = await request.get(
      new URL((await page.locator(`#build${n}`).getByRole('link', { name: 'build log' }).getAttribute('href')) ?? '', page.url()).href,
    );
    expect(log.status()).toBe(200);
    expect(await log.text()).toContain('dpkg-buildpackage');
  }
});

test('the demo signs its verdicts: a package page links its attestation, which verify checks with the published key', async ({ page, request }) => {
  await page.goto(demo.url);
  await expect(page.locator('p.signed')).toContainText('Every verdict is signed');
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  await page.goto(`${demo.url}rb-pkg/bookworm/${arch}/hostname-stamp.html`);
  const href = await page.getByRole('link', { name: 'attestations (in-toto, DSSE)' }).getAttribute('href');
  const res = await request.get(new URL(href ?? '', page.url()).href);
  expect(res.status()).toBe(200);
  const file = join(dir, 'downloaded.intoto.jsonl');
  writeFileSync(file, await res.text());
  const key = await request.get(`${demo.url}keys/reprofarm.pub`);
  expect(await key.text()).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  const v = spawnSync('node', [join(ROOT, 'bin', 'reprofarm.js'), 'verify', file, '--site', demo.url], { cwd: dir, encoding: 'utf8' });
  expect(v.status, v.stderr).toBe(0);
  expect(v.stderr).toMatch(/hostname-stamp \S+ bookworm\/\S+: FTBR/);
  expect(v.stderr).toMatch(/: OK$/m);
});

test('running the demo again is safe and serves the same results', async ({ page }) => {
  test.setTimeout(600_000);
  demo.child.kill('SIGTERM');
  demo = await runDemo(dir);
  expect(demo.log).toMatch(/6 known, 0 untested, FTBFS 1, FTBR 4, reproducible 1; 0 scheduled, 0 building/);
  await page.goto(demo.url);
  await expect(page.locator('section.suite').first().getByRole('heading', { level: 2 })).toHaveText(/16\.7% reproducible$/);
});
