/**
 * node-build.sh's two halves, run directly on this machine: `prepare2` takes
 * the work order, downloads, checks and unpacks, and leaves a marker;
 * `resume2` takes the marker (once) and builds. `cleanup` removes a prepared
 * build that never resumed. Real dpkg-source; a trivial build command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { variationValues } from '../../core/protocol.js';
import { ROOT } from '../helpers/cli.js';

const SCRIPT = join(ROOT, 'builder', 'node-build.sh');
let dir: string;
let work: string;
let order: string;

const REL = join('bookworm', 'amd64', 'tiny', '1.0');

function run(mode: string): { code: number | null; stderr: string } {
  // its own session, as under sshd or the local transport: cleanup stops the session a build recorded
  const r = spawnSync('setsid', ['-w', 'sh', SCRIPT, mode, 'bookworm', 'amd64', 'tiny', '1.0'], {
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', REPROFARM_NODE: 'n9', REPROFARM_WORKDIR: work },
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr };
}

function placeOrder(): void {
  mkdirSync(join(work, 'reproducible-builds', 'n9', 'bookworm', 'amd64', 'tiny'), { recursive: true });
  writeFileSync(join(work, 'reproducible-builds', 'n9', REL), order);
}

beforeAll(() => {
  for (const tool of ['dpkg-source', 'sha256sum']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is missing: apt-get install --no-install-recommends dpkg-dev coreutils`);
  }
  dir = mkdtempSync(join(tmpdir(), 'rf-phases-'));
  work = join(dir, 'work');
  const src = join(dir, 'tiny-1.0');
  mkdirSync(join(src, 'debian', 'source'), { recursive: true });
  writeFileSync(join(src, 'debian', 'control'), 'Source: tiny\nMaintainer: T <t@example.org>\n\nPackage: tiny\nArchitecture: any\nDescription: t\n t\n');
  writeFileSync(join(src, 'debian', 'changelog'), 'tiny (1.0) unstable; urgency=low\n\n  * t\n\n -- T <t@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n');
  writeFileSync(join(src, 'debian', 'source', 'format'), '3.0 (native)\n');
  execFileSync('dpkg-source', ['-b', 'tiny-1.0'], { cwd: dir, stdio: 'ignore' });
  // the build command writes a .deb, a .buildinfo and a .changes naming both, beside the tree
  const build = join(dir, 'build.sh');
  writeFileSync(
    build,
    [
      'echo built > ../tiny_1.0_amd64.deb',
      'echo info > ../tiny_1.0_amd64.buildinfo',
      "printf 'Format: 1.8\\nFiles:\\n 0 0 misc optional tiny_1.0_amd64.deb\\n 0 0 misc optional tiny_1.0_amd64.buildinfo\\n' > ../tiny_1.0_amd64.changes",
      '',
    ].join('\n'),
  );
  const dsc = join(dir, 'tiny_1.0.dsc');
  order = [
    'SOURCE=tiny',
    'VERSION=1.0',
    'SUITE=bookworm',
    'ARCH=amd64',
    'BUILD=2',
    `DSC_URL=file://${dsc}`,
    `DSC_SHA256=${createHash('sha256').update(readFileSync(dsc)).digest('hex')}`,
    `BUILD_COMMAND=sh ${build}`,
    'BACKEND=plain',
    'MIN_FREE_MB=1',
    'TIMEOUT=600',
    'NUM_CPU=2',
    // the work order carries every variation's value: node-build.sh keeps no defaults
    ...Object.entries(variationValues(2)).map(([k, v]) => `V_${k}=${v}`),
    '',
  ].join('\n');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('node-build.sh prepare and resume', () => {
  const pending = (): string => join(work, 'reproducible-builds', 'pending', REL);
  const tree = (): string => join(work, 'build', '2', 'tiny-1.0', '2nd');
  const results = (): string => join(work, 'reproducible-results', 'n9', REL);

  it('prepare2 takes the order and unpacks; resume2 builds once; a second resume is refused', () => {
    placeOrder();
    const p = run('prepare2');
    expect(p.code, p.stderr).toBe(0);
    expect(existsSync(join(work, 'reproducible-builds', 'n9', REL)), 'work order taken').toBe(false);
    expect(existsSync(pending())).toBe(true);
    // the sources for resume's clean-up, the time so far, and what the node's probes found (resume does not ask again)
    expect(readFileSync(`${pending()}.prepared`, 'utf8')).toMatch(
      /^FILES=.*tiny_1\.0\.tar\.xz\nPREPARE_S=\d+\nPROBED_LOCALE=(yes|no)\nPROBED_UNSHARE=(yes|no)\n$/,
    );
    expect(existsSync(join(tree(), 'debian', 'control'))).toBe(true);
    expect(existsSync(join(results(), 'status')), 'no status before the build').toBe(false);
    // the order is gone: preparing again finds nothing to take
    expect(run('prepare2').code).toBe(70);

    const r = run('resume2');
    expect(r.code, r.stderr).toBe(0);
    const status = readFileSync(join(results(), 'status'), 'utf8');
    expect(status).toMatch(/^RESULT=built$/m);
    expect(status).toMatch(/^VAR_BUILD_PATH=.*\/build\/2\/tiny-1\.0\/2nd$/m);
    expect(readFileSync(join(results(), 'SHA256SUMS'), 'utf8')).toMatch(/ tiny_1\.0_amd64\.deb\n/);
    // the tree, the sources, the pending entry and the markers are gone
    for (const p2 of [
      pending(),
      `${pending()}.prepared`,
      `${pending()}.resumed`,
      `${pending()}.pid`,
      tree(),
      join(work, 'reproducible-builds', 'sources', '2', REL),
    ]) {
      expect(existsSync(p2), p2).toBe(false);
    }
    const again = run('resume2');
    expect(again.code).toBe(70);
    expect(again.stderr).toMatch(/no prepared build at .*1\.0\.prepared/);
  });

  it("checks a job's variations again on the node: a value it does not accept stops the build before anything is downloaded", () => {
    mkdirSync(join(work, 'reproducible-builds', 'n9', 'bookworm', 'amd64', 'tiny'), { recursive: true });
    writeFileSync(join(work, 'reproducible-builds', 'n9', REL), `${order}V_UMASK=0999\nV_TZ=Etc/GMT-13\n`);
    const r = run('2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/work order variation UMASK has a value this script does not accept/);
    expect(existsSync(pending()), 'pending entry removed').toBe(false);
    expect(existsSync(join(work, 'reproducible-builds', 'sources', '2', REL)), 'nothing downloaded').toBe(false);
  });

  it('a workdir with less room than MIN_FREE_MB is the node\'s fault: exit 75 with "node: ...", nothing downloaded', () => {
    mkdirSync(join(work, 'reproducible-builds', 'n9', 'bookworm', 'amd64', 'tiny'), { recursive: true });
    writeFileSync(join(work, 'reproducible-builds', 'n9', REL), order.replace(/^MIN_FREE_MB=1$/m, 'MIN_FREE_MB=999999999'));
    const r = run('2');
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/^node-build: node: only \d+ MB free in .*, a build needs 999999999 MB \(health\.min_free_disk_mb\)$/m);
    expect(existsSync(join(work, 'reproducible-builds', 'sources', '2', REL)), 'nothing downloaded').toBe(false);
  });

  it("the chroot backend without a chroot for the suite is the node's fault, saying how to make one", () => {
    mkdirSync(join(work, 'reproducible-builds', 'n9', 'bookworm', 'amd64', 'tiny'), { recursive: true });
    writeFileSync(join(work, 'reproducible-builds', 'n9', REL), order.replace(/^BACKEND=plain$/m, 'BACKEND=chroot'));
    const r = run('2');
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(
      /^node-build: node: no chroot for bookworm\/amd64 at .*chroots\/bookworm-amd64\.tar\.zst \(run reprofarm chroot update n9 --suite bookworm\)$/m,
    );
  });

  it('cleanup removes a prepared build that never resumed', () => {
    placeOrder();
    expect(run('prepare2').code).toBe(0);
    expect(existsSync(`${pending()}.prepared`)).toBe(true);
    expect(run('cleanup').code).toBe(0);
    for (const p2 of [pending(), `${pending()}.prepared`, tree(), join(work, 'reproducible-builds', 'sources', '2', REL)]) {
      expect(existsSync(p2), p2).toBe(false);
    }
    expect(run('resume2').code).toBe(70);
  });
});
