/**
 * collector/info.sh run directly by dash (Debian's /bin/sh) and by bash in
 * POSIX mode: the facts it prints, and what it prints when the programs it
 * runs (dpkg, date, stat) are missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFacts, REQUIRED_FACTS } from '../../collector/facts.js';
import { projectRoot } from '../../core/paths.js';

const INFO = join(projectRoot(), 'collector', 'info.sh');
const work = mkdtempSync(join(tmpdir(), 'reprofarm-info-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(shell: string[], env: NodeJS.ProcessEnv, workdir = work): { facts: Map<string, string>; stderr: string } {
  for (const tool of [shell[0] ?? '', '/usr/bin/dpkg', '/usr/bin/date', '/usr/bin/stat']) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install --no-install-recommends dash bash dpkg coreutils`);
  }
  const r = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), INFO, workdir], { env, encoding: 'buffer' });
  expect(r.status, r.stderr.toString()).toBe(0);
  const parsed = parseFacts(r.stdout);
  if (!parsed.ok) throw new Error(`info.sh output rejected: ${parsed.problems.join('; ')}`);
  return { facts: new Map(parsed.facts), stderr: r.stderr.toString() };
}

describe.each([
  ['dash', ['/bin/dash']],
  ['bash --posix', ['/bin/bash', '--posix']],
])('info.sh under %s', (_name, shell) => {
  it('prints every required fact, with the values of this machine', () => {
    const before = Date.now() / 1000;
    const { facts, stderr } = run(shell, { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', TZ: 'Etc/GMT+3', LANG: 'C.UTF-8', TERM: 'xterm-256color' });
    const after = Date.now() / 1000;
    expect(stderr).toBe('');
    for (const k of REQUIRED_FACTS) expect(facts.has(k), k).toBe(true);
    expect(facts.get('ARCH')).toBe(execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim());
    expect(facts.get('TZ')).toBe('Etc/GMT+3');
    expect(facts.get('TERM')).toBe('xterm-256color');
    expect(facts.get('COLUMNS')).toBe('unset');
    expect(facts.get('LANG')).toBe('C.UTF-8');
    expect(facts.get('DATETIME')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const epoch = Number(facts.get('EPOCH'));
    expect(epoch).toBeGreaterThanOrEqual(Math.floor(before));
    expect(epoch).toBeLessThanOrEqual(after + 1);
    expect(Math.abs(Date.parse(facts.get('DATETIME') ?? '') / 1000 - epoch)).toBeLessThan(1);
    expect(Number(facts.get('NUM_CPU'))).toBeGreaterThan(0);
    expect(facts.get('WORKDIR')).toBe(work);
    expect(facts.get('WORKDIR_EXISTS')).toBe('yes');
    expect(facts.get('DISK_FREE_KB')).toMatch(/^\d+$/);
    expect(facts.get('INODES_FREE')).toMatch(/^\d+$/);
    expect(facts.get('HAVE_DPKG_BUILDPACKAGE')).toBe('yes');
    expect(facts.get('HOSTNAME')).toBe(hostname());
    // Linux says "(none)" for an unset domain name: that is the fact "unset"
    const domain = readFileSync('/proc/sys/kernel/domainname', 'utf8').trim();
    expect(facts.get('DOMAINNAME')).toBe(domain === '(none)' || domain === '' ? 'unset' : domain);
  });

  it('reads the host and domain names of its UTS namespace', () => {
    if (!existsSync('/usr/bin/unshare')) throw new Error('/usr/bin/unshare is missing: apt-get install --no-install-recommends util-linux');
    const set = 'echo rf-node-7 > /proc/sys/kernel/hostname && echo example.org > /proc/sys/kernel/domainname && exec "$@"';
    const r = spawnSync('/usr/bin/unshare', ['-r', '--uts', '/bin/sh', '-c', set, 'sh', ...shell, INFO, work], { encoding: 'buffer' });
    expect(r.status, r.stderr.toString()).toBe(0);
    const parsed = parseFacts(r.stdout);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const facts = new Map(parsed.facts);
    expect(facts.get('HOSTNAME')).toBe('rf-node-7');
    expect(facts.get('DOMAINNAME')).toBe('example.org');
    const none = spawnSync(
      '/usr/bin/unshare',
      ['-r', '--uts', '/bin/sh', '-c', 'echo "(none)" > /proc/sys/kernel/domainname && exec "$@"', 'sh', ...shell, INFO, work],
      { encoding: 'buffer' },
    );
    expect(none.status, none.stderr.toString()).toBe(0);
    expect(none.stdout.toString()).toMatch(/^DOMAINNAME=unset$/m);
  });

  it('prints "unset" for what it cannot find out when dpkg, date and stat are missing, and nothing on stderr', () => {
    const { facts, stderr } = run(shell, { PATH: join(work, 'no-such-dir') });
    expect(stderr).toBe('');
    for (const k of ['ARCH', 'DATETIME', 'EPOCH', 'DISK_FREE_KB', 'INODES_FREE', 'TZ', 'LANG']) expect(facts.get(k), k).toBe('unset');
    expect(facts.get('HAVE_DPKG_BUILDPACKAGE')).toBe('no');
    // read from /proc, not from programs
    expect(Number(facts.get('NUM_CPU'))).toBeGreaterThan(0);
    expect(facts.get('KERNEL')).toMatch(/^Linux /);
  });

  it('says so when the workdir does not exist', () => {
    const { facts } = run(shell, { PATH: '/usr/bin:/bin' }, join(work, 'missing'));
    expect(facts.get('WORKDIR_EXISTS')).toBe('no');
    expect(facts.get('WORKDIR_WRITABLE')).toBe('no');
    expect(facts.get('DISK_FREE_KB')).toBe('unset');
  });
});
