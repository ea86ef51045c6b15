/**
 * The culprit hints of issue 18 (culprit/hints.ts): real diffoscope reports of
 * small .debs made here, hand-written report snippets for each kind of
 * difference, hostile reports, the packages read directly, and the speed of
 * a scan.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, hintsFromDiffoscope, settledCulprits, type BuildFacts, type HintReport } from '../../culprit/hints.js';
import { hintsFromPackages } from '../../culprit/package-hints.js';
import { clockStart, dateSpec, kernelRelease, renderings } from '../../culprit/renderings.js';

// ---------------------------------------------------------------- the builds' recorded facts (the chroot backend's defaults)

const V1: Record<string, string> = {
  TZ: 'Etc/GMT+12',
  DATE: 'real clock',
  LANG: 'C',
  LC_ALL: 'unset',
  LANGUAGE: 'en_US:en',
  TERM: 'unset',
  COLUMNS: 'unset',
  UMASK: '0022',
  HOME: '/nonexistent/first-build',
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  CAPTURE_ENVIRONMENT: 'unset',
  HOSTNAME: 'farmnode7',
  PARALLEL: '4',
  KERNEL: 'Linux 6.1.0-18-amd64',
  BUILD_USER: 'pbuilder1:1111:first user,first room,first work-phone,first home-phone:/bin/sh',
  BINSH: 'dash',
  NICE: '10',
  NOCHECK: 'unset',
  KERNEL_PERSONALITY: 'native',
  FILEORDERING: 'native',
  BUILD_PATH: '/build/1st/hello-2.10-3',
};
const V2: Record<string, string> = {
  ...V1,
  TZ: 'Etc/GMT-14',
  DATE: 'faketime +398 days +6 hours +23 minutes (NO_FAKE_STAT=1)',
  LANG: 'et_EE.UTF-8',
  LC_ALL: 'et_EE.UTF-8',
  LANGUAGE: 'et_EE:et',
  TERM: 'linux',
  COLUMNS: '77',
  UMASK: '0002',
  HOME: '/nonexistent/second-build',
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin:/i/capture/the/path',
  CAPTURE_ENVIRONMENT: 'I capture the environment',
  HOSTNAME: 'i-capture-the-hostname',
  DOMAINNAME: 'i-capture-the-domain',
  PARALLEL: '5',
  BUILD_USER: 'pbuilder2:2222:second user,second room,second work-phone,second home-phone:/bin/bash',
  BINSH: 'bash',
  NICE: '11',
  NOCHECK: 'nocheck',
  KERNEL_PERSONALITY: 'linux64 --uname-2.6',
  FILEORDERING: 'disorderfs --shuffle-dirents',
  BUILD_PATH: '/build/2/hello-2.10-3/2nd',
};

// build 1 from 16:43Z (04:43 on Dec 3 at UTC-12); build 2 from 16:49Z, its clock 398 days 6 h 23 min on: 2028-01-05 23:12Z, 13:12 on Jan 6 at UTC+14
const B1: BuildFacts = { variations: V1, notApplied: {}, startedAt: '2026-12-03T16:43:00Z', durationS: 300 };
const B2: BuildFacts = { variations: V2, notApplied: {}, startedAt: '2026-12-03T16:49:00Z', durationS: 300 };
const EPOCH1 = 1796316240; // 2026-12-03T16:44Z
const EPOCH2 = 1830726720; // 2028-01-05T23:12Z

/** Build 2 with only these of its variations (the rest as build 1). */
function only(keys: string[], over: Record<string, string> = {}): BuildFacts {
  const v: Record<string, string> = { ...V1, ...over };
  for (const k of keys) if (V2[k] !== undefined) v[k] = V2[k];
  return { ...B2, variations: v };
}

// ---------------------------------------------------------------- small real packages

interface Tree {
  files: Record<string, string | Buffer>;
  modes?: Record<string, number>;
  /** NAME:UID of every member */
  owner?: string;
  /** the files' order in data.tar (default: sorted) */
  order?: string[];
  control?: string;
}

const run = (cmd: string, args: string[], cwd?: string): void => void execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A .deb made by hand (tar and ar), so that owners and member order are ours to choose. */
function makeDeb(dir: string, t: Tree): string {
  const root = join(dir, 'root');
  const names = t.order ?? Object.keys(t.files).sort();
  const dirs = new Set<string>(['./']);
  for (const [name, content] of Object.entries(t.files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
    chmodSync(join(root, name), t.modes?.[name] ?? 0o644);
    for (let d = dirname(name); d !== '.'; d = dirname(d)) dirs.add(`./${d}/`);
  }
  const [user, uid] = (t.owner ?? 'root:0').split(':');
  const owner = [`--owner=${user}:${uid}`, `--group=${user}:${uid}`, '--mtime=@1796000000', '--format=gnu', '--no-recursion'];
  run('tar', ['-C', root, ...owner, '-cJf', join(dir, 'data.tar.xz'), ...[...dirs].sort(), ...names.map((n) => `./${n}`)]);
  mkdirSync(join(dir, 'ctrl'), { recursive: true });
  writeFileSync(
    join(dir, 'ctrl', 'control'),
    t.control ?? 'Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: A <a@example.org>\nDescription: hi\n',
  );
  writeFileSync(join(dir, 'ctrl', 'md5sums'), names.map((n) => `${createHash('md5').update(t.files[n]!).digest('hex')}  ${n}\n`).join(''));
  run('tar', [
    '-C',
    join(dir, 'ctrl'),
    '--owner=root:0',
    '--group=root:0',
    '--mtime=@1796000000',
    '-cJf',
    join(dir, 'control.tar.xz'),
    './control',
    './md5sums',
  ]);
  writeFileSync(join(dir, 'debian-binary'), '2.0\n');
  const deb = join(dir, 'hello_2.10-3_amd64.deb');
  run('ar', ['rc', deb, 'debian-binary', 'control.tar.xz', 'data.tar.xz'], dir);
  rmSync(root, { recursive: true });
  return deb;
}

/** A .changes beside the .deb, with a .buildinfo (which always differs, and is not a package). */
function makeChanges(dir: string, deb: string, buildinfo: string): string {
  writeFileSync(join(dir, 'hello_2.10-3_amd64.buildinfo'), buildinfo);
  const files = ['hello_2.10-3_amd64.deb', 'hello_2.10-3_amd64.buildinfo'].map((f) => ({
    f,
    data: readFileSync(join(dir, f)),
    size: statSync(join(dir, f)).size,
  }));
  const sha = files.map(({ f, data, size }) => ` ${createHash('sha256').update(data).digest('hex')} ${size} ${f}`);
  const md5 = files.map(({ f, data, size }) => ` ${createHash('md5').update(data).digest('hex')} ${size} misc optional ${f}`);
  const changes = join(dir, 'hello_2.10-3_amd64.changes');
  writeFileSync(
    changes,
    ['Format: 1.8', 'Source: hello', 'Version: 2.10-3', 'Architecture: amd64', 'Checksums-Sha256:', ...sha, 'Files:', ...md5, ''].join('\n'),
  );
  void deb;
  return changes;
}

/** diffoscope's text report of two files (it exits 1 when they differ). */
function diffoscope(a: string, b: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('diffoscope', ['--text', '-', '--no-progress', a, b], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(out) : reject(new Error(`diffoscope exited ${code}: ${err.slice(-500)}`))));
  });
}

/** A gzip file whose header says `mtime`. */
function gzipAt(text: string, mtime: number): Buffer {
  const gz = gzipSync(text);
  gz.writeUInt32LE(mtime, 4);
  return gz;
}

/** Bytes like an ELF object's, holding a path. */
const elf = (path: string): Buffer =>
  Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]), Buffer.from(`${path}/src/hello.c\0GCC: 12.2\0`), Buffer.alloc(24, 7)]);
const noise = (seed: string): Buffer => Buffer.concat([0, 1, 2, 3].map((i) => createHash('sha256').update(`${seed}${i}`).digest()));

/** Build n's tree of the "everything differs" pair: one file per variation. */
function everything(n: 1 | 2): Tree {
  const [v, epoch, date] = n === 1 ? [V1, EPOCH1, '2026-12-03'] : [V2, EPOCH2, '2028-01-06'];
  const files = {
    'usr/bin/hello': '#!/bin/sh\necho hello\n',
    'usr/lib/hello/libhello.so': elf(v.BUILD_PATH!),
    'usr/share/doc/hello/date.txt': `built ${date}\n`,
    'usr/share/doc/hello/epoch.txt': `SOURCE_STAMP=${epoch}\n`,
    'usr/share/doc/hello/host.txt': `built on ${v.HOSTNAME}\n`,
    'usr/share/doc/hello/kernel.txt': `uname -r: ${n === 1 ? '6.1.0-18-amd64' : '2.6.61-18-amd64'}\n`,
    'usr/share/doc/hello/make.log': `make -j${v.PARALLEL} all\n`,
    'usr/share/doc/hello/locale.txt': `LANG=${v.LANG}\n`,
    'usr/share/doc/hello/changelog.gz': gzipAt('hello (2.10-3) unstable; urgency=medium\n', epoch),
    'usr/share/hello/a': 'a\n',
    'usr/share/hello/b': 'b\n',
    'usr/share/hello/c': 'c\n',
  };
  const sorted = Object.keys(files).sort();
  return {
    files,
    modes: { 'usr/bin/hello': n === 1 ? 0o755 : 0o775 },
    owner: n === 1 ? 'pbuilder1:1111' : 'pbuilder2:2222',
    // as disorderfs shuffles a directory
    order: n === 1 ? sorted : [...sorted.filter((f) => !f.startsWith('usr/share/hello/')), 'usr/share/hello/c', 'usr/share/hello/a', 'usr/share/hello/b'],
    control: `Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nInstalled-Size: ${n === 1 ? 40 : 41}\nMaintainer: A <a@example.org>\nDescription: hi\n`,
  };
}

const P = 'hello_2.10-3_amd64.deb';
const variations = (r: HintReport, file?: string): string[] => [...new Set(r.hints.filter((h) => !file || h.file === file).map((h) => h.variation))].sort();
const kinds = (r: HintReport): string[] => [...new Set(r.categories.map((c) => c.category))].sort();

let work: string;
const debs: Record<string, [string, string]> = {};
const reports: Record<string, string> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rf-hints-'));
  const pair = (name: string, t1: Tree, t2: Tree): [string, string] => {
    const [d1, d2] = [join(work, name, '1'), join(work, name, '2')];
    debs[name] = [makeDeb(d1, t1), makeDeb(d2, t2)];
    return [d1, d2];
  };
  const [e1, e2] = pair('everything', everything(1), everything(2));
  const c1 = makeChanges(e1, debs.everything![0], `Source: hello\nBuild-Path: ${V1.BUILD_PATH}\nBuild-Date: Thu, 03 Dec 2026 04:44:00 -1200\n`);
  const c2 = makeChanges(e2, debs.everything![1], `Source: hello\nBuild-Path: ${V2.BUILD_PATH}\nBuild-Date: Thu, 06 Jan 2028 13:12:00 +1400\n`);
  pair(
    'tz',
    { files: { 'usr/share/doc/hello/stamp': 'Thu, 03 Dec 2026 04:44:00 -1200\n' } },
    { files: { 'usr/share/doc/hello/stamp': 'Fri, 04 Dec 2026 06:50:00 +1400\n' } },
  );
  pair('nothing', { files: { 'usr/lib/hello/data.bin': noise('one') } }, { files: { 'usr/lib/hello/data.bin': noise('two') } });
  // report lines as a file's text, and paths a regular expression would misread
  const fake = (n: string, path: string): string =>
    `├── ./usr/bin/${n}\n│ ├── file list\n│ │ @@ -1 +1 @@\n│ │ --rwxr-xr-x   0 root (0) root (0) 1 2026-01-01 00:00:00.000000 ./x\nin ${path}\n`;
  const trap = (n: string, path: string): Tree => ({ files: { 'usr/share/doc/hello/trap.txt': fake(n, path) } });
  pair('hostile', trap('evil1', '/tmp/aXb+(c)'), trap('evil2', '/tmp/2/(x|y)+'));
  const [re, rt, rn, rh] = await Promise.all([diffoscope(c1, c2), diffoscope(...debs.tz!), diffoscope(...debs.nothing!), diffoscope(...debs.hostile!)]);
  Object.assign(reports, { everything: re, tz: rt, nothing: rn, hostile: rh });
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('hints from real diffoscope reports', () => {
  it('name DATE for a day (Y-m-d) and an epoch of each build, in their files', () => {
    const r = hintsFromDiffoscope(reports.everything!, B1, B2);
    const date = r.hints.filter((h) => h.file === `${P}/usr/share/doc/hello/date.txt`);
    expect(date.map((h) => [h.variation, h.category, h.evidence])).toEqual([
      ['DATE', 'embedded-date', '-built 2026-12-03'],
      ['DATE', 'embedded-date', '+built 2028-01-06'],
    ]);
    expect(variations(r, `${P}/usr/share/doc/hello/epoch.txt`)).toEqual(['DATE']);
    expect(r.hints.find((h) => h.file.endsWith('epoch.txt'))?.evidence).toBe(`-SOURCE_STAMP=${EPOCH1}`);
  });

  it('name the host name, the build path (also inside a binary, across hexdump lines), -jN, LANG and the 2.6 kernel', () => {
    const r = hintsFromDiffoscope(reports.everything!, B1, B2);
    expect(variations(r, `${P}/usr/share/doc/hello/host.txt`)).toEqual(['HOSTNAME']);
    expect(variations(r, `${P}/usr/lib/hello/libhello.so`)).toEqual(['BUILD_PATH']);
    expect(r.hints.filter((h) => h.file.endsWith('libhello.so')).map((h) => h.evidence[0])).toEqual(['-', '+']);
    expect(variations(r, `${P}/usr/share/doc/hello/make.log`)).toEqual(['PARALLEL']);
    // et_EE.UTF-8 is build 2's LANG and LC_ALL: "LANG=" names which
    expect(variations(r, `${P}/usr/share/doc/hello/locale.txt`)).toEqual(['LANG']);
    expect(variations(r, `${P}/usr/share/doc/hello/kernel.txt`)).toEqual(['KERNEL_PERSONALITY']);
  });

  it('tell the kinds: gzip header times, users and permissions in the tar, the order of its members', () => {
    const r = hintsFromDiffoscope(reports.everything!, B1, B2);
    const kind = (c: string): Array<[string, string | null]> => r.categories.filter((x) => x.category === c).map((x) => [x.file, x.variation]);
    expect(kind('timestamps-in-gzip-headers')).toEqual([[`${P}/usr/share/doc/hello/changelog.gz`, 'DATE']]);
    expect(kind('file-permissions')).toEqual([[`${P}/usr/bin/hello`, 'UMASK']]);
    expect(kind('file-order')).toEqual([[P, 'FILEORDERING']]);
    expect(kind('users-in-archives')).toContainEqual([P, 'BUILD_USER']);
    // the users' names and uids stand in the listing's owner column
    expect(r.hints.filter((h) => h.variation === 'BUILD_USER').every((h) => h.category === 'users-in-archives')).toBe(true);
    expect(r.hints.some((h) => h.variation === 'BUILD_USER' && h.evidence.includes('pbuilder2  (2222)'))).toBe(true);
  });

  it('leave out the .buildinfo, md5sums and Installed-Size, and explain every file', () => {
    const r = hintsFromDiffoscope(reports.everything!, B1, B2);
    expect(r.source).toBe('diffoscope');
    expect(r.differingFiles.filter((f) => !f.startsWith(`${P}/`) && f !== P)).toEqual([]);
    expect(r.differingFiles.some((f) => f.includes('DEBIAN'))).toBe(false);
    expect(r.unexplained).toEqual([]);
    expect(settledCulprits(r)).toEqual(['BUILD_PATH', 'BUILD_USER', 'DATE', 'FILEORDERING', 'HOSTNAME', 'KERNEL_PERSONALITY', 'LANG', 'PARALLEL', 'UMASK']);
  });

  it('name TZ, not DATE, when only the zone differs (the same instant, another day and offset)', () => {
    const b2 = only(['TZ']);
    const r = hintsFromDiffoscope(reports.tz!, { ...B1, startedAt: '2026-12-03T16:44:00Z' }, { ...b2, startedAt: '2026-12-03T16:50:00Z' });
    expect(variations(r)).toEqual(['TZ']);
    expect(r.hints.map((h) => h.evidence)).toEqual(['-Thu, 03 Dec 2026 04:44:00 -1200', '+Fri, 04 Dec 2026 06:50:00 +1400']);
    expect(settledCulprits(r)).toEqual(['TZ']);
  });

  it('find nothing where no marker is: no hints, the file unexplained, no settled culprits', () => {
    const r = hintsFromDiffoscope(reports.nothing!, B1, B2);
    expect(r.hints).toEqual([]);
    expect(r.differingFiles).toEqual([`${P}/usr/lib/hello/data.bin`]);
    expect(r.unexplained).toEqual([`${P}/usr/lib/hello/data.bin`]);
    expect(settledCulprits(r)).toBeNull();
  });

  it('take a file whose text looks like report lines for text, and needles for plain text', () => {
    const b1 = { ...B1, variations: { ...V1, BUILD_PATH: '/tmp/a.b+(c)' } };
    const b2 = { ...B2, variations: { ...V2, BUILD_PATH: '/tmp/2/(x|y)+' } };
    const r = hintsFromDiffoscope(reports.hostile!, b1, b2);
    expect(r.differingFiles).toEqual([`${P}/usr/share/doc/hello/trap.txt`]);
    // "/tmp/aXb+(c)" is no "/tmp/a.b+(c)"; "/tmp/2/(x|y)+" is itself
    expect(r.hints).toEqual([{ variation: 'BUILD_PATH', category: 'build-path', file: `${P}/usr/share/doc/hello/trap.txt`, evidence: '+in /tmp/2/(x|y)+' }]);
    expect(r.categories.map((c) => c.category)).toEqual(['build-path']);
  });
});

// ---------------------------------------------------------------- hand-written reports: each kind of difference

/** A report of two .debs: these lines under the package's data.tar (├── data.tar.xz, │ ├── data.tar). */
function report(lines: string[]): string {
  return ['--- 1/hello_1_all.deb', '+++ 2/hello_1_all.deb', '├── data.tar.xz', '│ ├── data.tar', ...lines.map((l) => `│ │ ${l}`)].join('\n');
}
const Q = 'hello_1_all.deb';
const listing = (a: string, b: string): string[] => ['├── file list', '│ @@ -1,1 +1,1 @@', `│ -${a}`, `│ +${b}`];
const member = (mode: string, owner: string, time: string, name: string): string => `${mode}   0 ${owner} ${owner}        4 ${time}.000000 ${name}`;

describe('hints from hand-written reports: each kind of difference', () => {
  const cases: Array<[string, string[], string, string | null]> = [
    [
      'timestamps-in-gzip-headers',
      [
        '├── ./usr/share/doc/hello/changelog.gz',
        '│ ├── filetype from file(1)',
        '│ │ @@ -1 +1 @@',
        '│ │ -gzip compressed data, last modified: Sun Mar  1 10:00:00 2026, from Unix',
        '│ │ +gzip compressed data, last modified: Sun Mar  1 10:00:07 2026, from Unix',
      ],
      `${Q}/usr/share/doc/hello/changelog.gz`,
      'DATE',
    ],
    [
      'embedded-date',
      ['├── ./usr/share/man/man1/hello.1', '│ @@ -1 +1 @@', '│ -.TH HELLO 1 "December 2026"', '│ +.TH HELLO 1 "January 2028"'],
      `${Q}/usr/share/man/man1/hello.1`,
      'DATE',
    ],
    [
      'timestamps-in-archives',
      listing(
        member('-rw-r--r--', 'root         (0)', '2026-03-01 10:00:00', './usr/share/x'),
        member('-rw-r--r--', 'root         (0)', '2026-03-01 10:00:09', './usr/share/x'),
      ),
      `${Q}/usr/share/x`,
      'DATE',
    ],
    [
      'file-permissions',
      listing(
        member('-rw-r--r--', 'root         (0)', '2026-03-01 10:00:00', './usr/share/x'),
        member('-rw-rw-r--', 'root         (0)', '2026-03-01 10:00:00', './usr/share/x'),
      ),
      `${Q}/usr/share/x`,
      'UMASK',
    ],
    [
      'users-in-archives',
      listing(
        member('-rw-r--r--', 'pbuilder1  (1111)', '2026-03-01 10:00:00', './usr/share/x'),
        member('-rw-r--r--', 'pbuilder2  (2222)', '2026-03-01 10:00:00', './usr/share/x'),
      ),
      `${Q}/usr/share/x`,
      'BUILD_USER',
    ],
    [
      'file-order',
      [
        '├── file list',
        '│ @@ -1,3 +1,3 @@',
        `│ -${member('-rw-r--r--', '0 0', '2026-03-01 10:00:00', './a')}`,
        `│  ${member('-rw-r--r--', '0 0', '2026-03-01 10:00:00', './b')}`,
        `│ +${member('-rw-r--r--', '0 0', '2026-03-01 10:00:00', './a')}`,
      ],
      Q,
      'FILEORDERING',
    ],
    [
      'file-order',
      ['├── ./usr/share/hello/list', '│┄ Ordering differences only', '│ @@ -1,2 +1,2 @@', '│ -a', '│  b', '│ +a'],
      `${Q}/usr/share/hello/list`,
      'FILEORDERING',
    ],
    [
      'build-path',
      ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -src /build/1st/hello-2.10-3/x.c', '│ +src /build/2/hello-2.10-3/2nd/x.c'],
      `${Q}/usr/share/hello/p`,
      'BUILD_PATH',
    ],
    ['host-name', ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -on farmnode7', '│ +on i-capture-the-hostname'], `${Q}/usr/share/hello/p`, 'HOSTNAME'],
    ['domain-name', ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -on x', '│ +on i-capture-the-domain'], `${Q}/usr/share/hello/p`, 'DOMAINNAME'],
    ['locale', ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -lang: en_US', '│ +lang: et_EE'], `${Q}/usr/share/hello/p`, 'LANGUAGE'],
    ['time-zone', ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -zone Etc/GMT+12', '│ +zone Etc/GMT-14'], `${Q}/usr/share/hello/p`, 'TZ'],
    [
      'kernel-version',
      ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -built on 6.1.0-18-amd64', '│ +built on 2.6.61-18-amd64'],
      `${Q}/usr/share/hello/p`,
      'KERNEL_PERSONALITY',
    ],
    [
      'parallel-jobs',
      ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -DEB_BUILD_OPTIONS=parallel=4', '│ +DEB_BUILD_OPTIONS=parallel=5 nocheck'],
      `${Q}/usr/share/hello/p`,
      'PARALLEL',
    ],
    [
      'home-directory',
      ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -HOME=/nonexistent/first-build', '│ +HOME=/nonexistent/second-build'],
      `${Q}/usr/share/hello/p`,
      'HOME',
    ],
    [
      'environment',
      ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -env:', '│ +env: CAPTURE_ENVIRONMENT=I capture the environment TERM=linux'],
      `${Q}/usr/share/hello/p`,
      'CAPTURE_ENVIRONMENT',
    ],
    ['build-user', ['├── ./usr/share/hello/p', '│ @@ -1 +1 @@', '│ -packed by pbuilder1', '│ +packed by pbuilder2'], `${Q}/usr/share/hello/p`, 'BUILD_USER'],
  ];
  it.each(cases)('%s', (category, lines, file, variation) => {
    const r = hintsFromDiffoscope(report(lines), B1, B2);
    expect(r.categories).toContainEqual(expect.objectContaining({ category, file, variation }));
    expect(r.unexplained).toEqual([]);
    expect(settledCulprits(r)).toContain(variation);
  });

  it('have one table, naming a variation of the farm for each kind', () => {
    expect(Object.keys(CATEGORIES).sort()).toEqual(
      kinds({ ...emptyReport(), categories: cases.map(([category]) => ({ category, variation: null, file: '', evidence: '' })) }),
    );
    expect(new Set(Object.values(CATEGORIES)).size).toBeGreaterThan(10);
  });

  it('name every variation a shared value may be, unless an assignment says which', () => {
    const r = hintsFromDiffoscope(report(['├── ./p', '│ @@ -1,2 +1,2 @@', '│ -locale C', '│ +locale et_EE.UTF-8', '│ -x', '│ +LC_ALL=et_EE.UTF-8']), B1, B2);
    expect(r.hints.map((h) => [h.variation, h.evidence])).toEqual([
      ['LANG', '+locale et_EE.UTF-8'],
      ['LC_ALL', '+locale et_EE.UTF-8'],
      ['LC_ALL', '+LC_ALL=et_EE.UTF-8'],
    ]);
  });

  it('count a year or a uid only with its counterpart in the same hunk', () => {
    const paired = hintsFromDiffoscope(report(['├── ./p', '│ @@ -1 +1 @@', '│ -(C) 2026 uid 1111', '│ +(C) 2028 uid 2222']), B1, B2);
    expect(variations(paired)).toEqual(['BUILD_USER', 'DATE']);
    const alone = hintsFromDiffoscope(report(['├── ./p', '│ @@ -1 +1 @@', '│ -size 2026 of 1111', '│ +size 2027 of 1112']), B1, B2);
    expect(alone.hints).toEqual([]);
    expect(alone.unexplained).toEqual([`${Q}/p`]);
  });

  it('take no difference of gzip headers for one when only the name in them changed', () => {
    const r = hintsFromDiffoscope(
      report([
        '├── ./x.gz',
        '│ ├── filetype from file(1)',
        '│ │ @@ -1 +1 @@',
        '│ │ -gzip compressed data, was "a", last modified: X, from Unix',
        '│ │ +gzip compressed data, was "b", last modified: X, from Unix',
      ]),
      B1,
      B2,
    );
    expect(kinds(r)).toEqual([]);
  });

  it('give a kind no variation when its variation did not vary, and settle nothing then', () => {
    const lines = listing(member('-rw-r--r--', '0 0', '2026-03-01 10:00:00', './x'), member('-rw-rw-r--', '0 0', '2026-03-01 10:00:00', './x'));
    const r = hintsFromDiffoscope(report(lines), B1, only(['DATE'], { UMASK: '0022' }));
    expect(r.categories).toEqual([expect.objectContaining({ category: 'file-permissions', variation: null })]);
    expect(r.unexplained).toEqual([`${Q}/x`]);
    expect(settledCulprits(r)).toBeNull();
  });

  it("read zipinfo -v's member times, and explain an archive by its members", () => {
    const zip = '├── ./usr/share/java/hello.jar';
    const verbose = [
      zip,
      '│ ├── zipinfo -v {}',
      '│ │ @@ -1,2 +1,2 @@',
      '│ │ -  file last modified on (DOS date/time):          2026 Dec 3 04:44:00',
      '│ │ +  file last modified on (DOS date/time):          2028 Jan 6 13:12:00',
    ];
    expect(hintsFromDiffoscope(report(verbose), B1, B2).categories).toContainEqual(
      expect.objectContaining({ category: 'timestamps-in-archives', file: `${Q}/usr/share/java/hello.jar`, variation: 'DATE' }),
    );
    // the jar's size and the offsets in it follow from its member: the member's build path explains both
    const sized = [
      zip,
      '│ ├── zipinfo {}',
      '│ │ @@ -1 +1 @@',
      '│ │ -Zip file size: 334 bytes, number of entries: 2',
      '│ │ +Zip file size: 336 bytes, number of entries: 2',
      '│ ├── zipdetails --redact --scan --utc {}',
      '│ │ @@ -1 +1 @@',
      '│ │ -0042 CRC 1234',
      '│ │ +0042 CRC 5678',
    ];
    const member = ['│ ├── META-INF/MANIFEST.MF', '│ │ @@ -1 +1 @@', '│ │ -Built-In: /build/1st/hello-2.10-3', '│ │ +Built-In: /build/2/hello-2.10-3/2nd'];
    const r = hintsFromDiffoscope(report([...sized, ...member]), B1, B2);
    expect(r.differingFiles).toEqual([`${Q}/usr/share/java/hello.jar`, `${Q}/usr/share/java/hello.jar/META-INF/MANIFEST.MF`]);
    expect(r.unexplained).toEqual([]);
    expect(settledCulprits(r)).toEqual(['BUILD_PATH']);
  });

  it('read a report that is no report (diffoscope timed out) as nothing', () => {
    const r = hintsFromDiffoscope('diffoscope did not finish within 300 s\n', B1, B2);
    expect(r).toEqual({ ...emptyReport(), source: 'diffoscope' });
    expect(settledCulprits(r)).toBeNull();
  });
});

function emptyReport(): HintReport {
  return { source: 'diffoscope', hints: [], categories: [], differingFiles: [], unexplained: [] };
}

// ---------------------------------------------------------------- the needles

describe('needles', () => {
  const texts = (b1: BuildFacts, b2: BuildFacts, side: 1 | 2): string[] =>
    renderings(b1, b2)
      .needles.filter((n) => n.side === side)
      .map((n) => n.text);

  it('are the recorded values: never short or generic ones, never one both builds share', () => {
    const t1 = texts(B1, B2, 1);
    const t2 = texts(B1, B2, 2);
    for (const generic of ['C', '0022', '0002', '10', '11', 'dash', 'bash', 'linux', '77', 'nocheck ', '/bin/sh'])
      expect([...t1, ...t2]).not.toContain(generic);
    expect(t1).toEqual(
      expect.arrayContaining(['farmnode7', '/build/1st/hello-2.10-3', 'pbuilder1', '-j4', 'parallel=4', '2026-12-03', 'Thu Dec  3', '03 Dec 2026']),
    );
    expect(t2).toEqual(
      expect.arrayContaining([
        'i-capture-the-hostname',
        '/build/2/hello-2.10-3/2nd',
        'et_EE.UTF-8',
        'TERM=linux',
        'COLUMNS=77',
        '/i/capture/the/path',
        '2.6.61-18-amd64',
      ]),
    );
    // the whole of build 1's PATH is inside build 2's
    expect(t1).not.toContain(V1.PATH);
    const same = renderings(B1, { ...B1, startedAt: '2026-12-03T16:44:00Z' });
    expect(same.needles).toEqual([]);
  });

  it('skip what a build could not apply: its value stays the same', () => {
    const b2 = { ...B2, variations: { ...V2, HOSTNAME: V1.HOSTNAME!, DOMAINNAME: 'unset' }, notApplied: { HOSTNAME: 'unshare --uts is not available' } };
    expect(texts(B1, b2, 2)).not.toContain('i-capture-the-hostname');
    expect(renderings(B1, b2).varied('HOSTNAME')).toBe(false);
    // an older row without BUILD_PATH has no build path needles
    const { BUILD_PATH: _omit, ...old } = V2;
    expect(texts(B1, { ...B2, variations: old }, 2).some((t) => t.startsWith('/build/2'))).toBe(false);
  });

  it('read the DATE specs faketime takes, and the kernel as --uname-2.6 rewrites it', () => {
    expect(dateSpec('faketime +398 days +6 hours +23 minutes (NO_FAKE_STAT=1)')).toBe('+398 days +6 hours +23 minutes');
    expect(dateSpec('real clock')).toBe('real');
    const start = Date.parse('2026-12-03T16:49:00Z');
    expect(new Date(clockStart(start, 'faketime +398 days +6 hours +23 minutes (NO_FAKE_STAT=1)')).toISOString()).toBe('2028-01-05T23:12:00.000Z');
    expect(clockStart(start, '@1830000000')).toBe(1830000000_000);
    expect(new Date(clockStart(start, '+1 month -2 days')).toISOString()).toBe('2027-01-01T16:49:00.000Z');
    expect(new Date(clockStart(start, '2028-02-29 10:00:00')).toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(kernelRelease(B2)).toBe('2.6.61-18-amd64');
    expect(kernelRelease({ ...B2, variations: { ...V2, KERNEL: 'Linux 6.12.9+bpo-amd64' } })).toBe('2.6.72+bpo-amd64');
    expect(kernelRelease(B1)).toBe('6.1.0-18-amd64');
  });

  it('date build 2 in its zone: an absolute DATE is its local time, a POSIX zone is read with its sign inverted', () => {
    const b2 = { ...B2, variations: { ...V2, DATE: '2030-06-15 23:30:00', TZ: 'XYZ-3' } };
    // 23:30 at UTC+3 is 20:30Z: June 15 in both
    expect(texts(B1, b2, 2)).toEqual(expect.arrayContaining(['2030-06-15', 'Sat Jun 15', '+0300']));
    expect(texts(B1, { ...b2, variations: { ...b2.variations, TZ: 'Not/AZone' } }, 2)).toContain('2030-06-15');
  });
});

// ---------------------------------------------------------------- hostile reports

describe('hostile reports', () => {
  it('cut a 20 MB line to evidence around its hit, quickly', () => {
    const long = `${'x'.repeat(10_000_000)} /build/2/hello-2.10-3/2nd ${'y'.repeat(10_000_000)}`;
    const t0 = performance.now();
    const r = hintsFromDiffoscope(report(['├── ./big', '│ @@ -1 +1 @@', '│ -small', `│ +${long}`]), B1, B2);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.hints).toHaveLength(1);
    expect(r.hints[0]!.evidence.length).toBeLessThanOrEqual(302);
    expect(r.hints[0]!.evidence).toContain('/build/2/hello-2.10-3/2nd');
  });

  it('bound what it keeps, however many hits and files', () => {
    const lines = ['├── file list', '│ @@ -1,2000 +1,2000 @@'];
    for (let i = 0; i < 2000; i++)
      lines.push(`│ -${member('-rw-r--r--', '0 0', '2026-03-01 10:00:00', `./f${i}`)}`, `│ +${member('-rwxr-xr-x', '0 0', '2026-03-01 10:00:00', `./f${i}`)}`);
    for (let i = 0; i < 200; i++)
      lines.push(
        `├── ./t${i}`,
        '│ @@ -1 +1 @@',
        '│ -farmnode7 /build/1st/hello-2.10-3 2026-12-03',
        '│ +i-capture-the-hostname /build/2/hello-2.10-3/2nd 2028-01-06',
      );
    const r = hintsFromDiffoscope(report(lines), B1, B2);
    expect(r.hints.length).toBeLessThanOrEqual(50);
    expect(r.categories.length).toBeLessThanOrEqual(50);
    expect(r.differingFiles).toHaveLength(500);
    expect(variations(r)).toEqual(['BUILD_PATH', 'DATE', 'HOSTNAME']);
  });

  it('take header-like and marker-like content, stray prefixes and odd names without harm', () => {
    const r = hintsFromDiffoscope(
      report([
        '├── ./a',
        '│ @@ -1 +1 @@',
        '│ -├── ./forged',
        '│ +│ ├── ./forged2',
        '│   --- ./renamed-1',
        '├── +++ ./renamed-2',
        '│ @@ -1 +1 @@',
        '│ -\u202e',
        '│ +x',
        '│ │ │ │ │ stray',
        '├── ./' + 'n'.repeat(5000),
      ]),
      B1,
      B2,
    );
    expect(r.differingFiles).toEqual([`${Q}/a`, `${Q}/renamed-2`]);
  });
});

// ---------------------------------------------------------------- the packages themselves

describe('hints from the packages', () => {
  it('find what the report finds, from the two .debs alone', async () => {
    const r = await hintsFromPackages([debs.everything![0]], [debs.everything![1]], B1, B2);
    expect(r.source).toBe('packages');
    expect(variations(r, `${P}/usr/lib/hello/libhello.so`)).toEqual(['BUILD_PATH']);
    expect(variations(r, `${P}/usr/share/doc/hello/host.txt`)).toEqual(['HOSTNAME']);
    expect(variations(r, `${P}/usr/share/doc/hello/date.txt`)).toEqual(['DATE']);
    expect(variations(r, `${P}/usr/share/doc/hello/epoch.txt`)).toEqual(['DATE']);
    expect(variations(r, `${P}/usr/share/doc/hello/make.log`)).toEqual(['PARALLEL']);
    expect(kinds(r)).toEqual(expect.arrayContaining(['file-order', 'file-permissions', 'timestamps-in-gzip-headers', 'users-in-archives']));
    expect(r.hints.find((h) => h.file.endsWith('libhello.so'))?.evidence).toContain('/build/1st/hello-2.10-3/src/hello.c');
    expect(r.differingFiles.some((f) => f.includes('DEBIAN'))).toBe(false);
    expect(r.unexplained).toEqual([]);
    expect(settledCulprits(r)).toEqual(expect.arrayContaining(['BUILD_PATH', 'BUILD_USER', 'DATE', 'FILEORDERING', 'HOSTNAME', 'UMASK']));
  });

  it('leave a package it cannot read, or one build alone made, unexplained; and a pair without markers too', async () => {
    const bad = join(work, 'bad', P);
    mkdirSync(dirname(bad), { recursive: true });
    writeFileSync(bad, '!<arch>\nnot really\n');
    const r = await hintsFromPackages([bad, join(work, 'x_1_all.deb')], [debs.nothing![1]], B1, B2);
    expect(r.unexplained.sort()).toEqual([P, 'x_1_all.deb']);
    const none = await hintsFromPackages([debs.nothing![0]], [debs.nothing![1]], B1, B2, { maxBytes: 64 });
    expect(none.unexplained).toEqual([`${P}/usr/lib/hello/data.bin`]);
    expect(settledCulprits(none)).toBeNull();
  });

  it('read hostile tars without writing anything: names with "..", long GNU names, pax headers', async () => {
    const dir = join(work, 'hostile-tar');
    const build = (n: 1 | 2, format: string): string => {
      const d = join(dir, String(n));
      const root = join(d, 'root');
      const long = `usr/share/${'l'.repeat(120)}/${'m'.repeat(120)}`;
      mkdirSync(join(root, long), { recursive: true });
      writeFileSync(join(root, long, 'f'), `in ${n === 1 ? V1.BUILD_PATH : V2.BUILD_PATH}\n`);
      writeFileSync(join(root, 'x'), `build ${n}\n`);
      run('tar', ['-C', root, `--format=${format}`, '--transform=s,^x$,../../../escape,', '-cJf', join(d, 'data.tar.xz'), 'x', `${long}/f`]);
      mkdirSync(join(d, 'ctrl'), { recursive: true });
      writeFileSync(join(d, 'ctrl', 'control'), 'Package: hello\n');
      run('tar', ['-C', join(d, 'ctrl'), '-cJf', join(d, 'control.tar.xz'), './control']);
      writeFileSync(join(d, 'debian-binary'), '2.0\n');
      run('ar', ['rc', join(d, P), 'debian-binary', 'control.tar.xz', 'data.tar.xz'], d);
      return join(d, P);
    };
    const r = await hintsFromPackages([build(1, 'gnu')], [build(2, 'pax')], B1, B2);
    expect(r.hints.map((h) => [h.variation, h.file.length > 240])).toEqual([
      ['BUILD_PATH', true],
      ['BUILD_PATH', true],
    ]);
    // "../../../escape" is a name in the report, never a path on disk
    expect(r.differingFiles).toContain(`${P}/../../../escape`);
    expect(existsSync(join(dir, 'escape')) || existsSync(join(work, 'escape'))).toBe(false);
  });

  it('stop when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(hintsFromPackages([debs.nothing![0]], [debs.nothing![1]], B1, B2, { signal: ac.signal })).rejects.toThrow();
  });
});

// ---------------------------------------------------------------- speed

describe('speed', () => {
  // its speed is npm run bench's (a timed unit test fails on a busy machine): here, that a big report is read
  it('reads a 10 MB report and finds the one build path in it', () => {
    const lines = ['--- 1/hello_1_all.deb', '+++ 2/hello_1_all.deb', '├── data.tar.xz', '│ ├── data.tar'];
    let size = 0;
    for (let f = 0; size < 10_000_000; f++) {
      lines.push(
        `│ │ ├── ./usr/lib/hello/lib${f}.so`,
        `│ │ │ ├── objdump --line-numbers --disassemble --demangle --reloc --no-show-raw-insn --section=.text {}`,
      );
      for (let i = 0; i < 200; i++) {
        const l = `│ │ │ │ ${'-+ '[i % 3]}  4${(f * 1000 + i).toString(16).padStart(5, '0')}:\tcall   4a2b0 <memcpy@plt> ; ${i % 50 === 0 ? '/build/1st/hello-2.10-3' : 'x86_64-linux-gnu'}`;
        lines.push(l);
        size += l.length + 1;
      }
    }
    const text = lines.join('\n');
    const r = hintsFromDiffoscope(text, B1, B2);
    expect(variations(r)).toEqual(['BUILD_PATH']);
  });
});
