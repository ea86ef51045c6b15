/**
 * Test harness: a REAL Debian archive mirror on disk, served over loopback HTTP.
 *
 * A mirror is a temp dir holding `mirror/` (the archive root: `dists/` and
 * `pool/`), `work/` (scratch dirs where source packages are built: never in the
 * pool) and two binary OpenPGP keyrings, plus a short GNUPGHOME under /tmp
 * (gpg-agent's socket path must stay under ~107 characters) holding two fresh
 * ed25519 keys: the signing key and an unrelated one.
 *
 * Source packages are real: a hand-written debian/rules (plain make, no
 * debhelper) built with `dpkg-source -b`, indexed with `dpkg-scansources`,
 * and buildable later with `dpkg-buildpackage -us -uc -b`. Release files are
 * signed with gpg as InRelease (clearsigned) and Release.gpg (detached).
 *
 * Tools (Debian package): gpg (gpg), gpg-agent (gpg-agent), gpgconf (gpgconf),
 * dpkg-source/dpkg-scansources (dpkg-dev), xz (xz-utils), tar (tar). Tests
 * additionally use gpgv (gpgv) and dpkg-buildpackage (dpkg-dev, which needs
 * build-essential and make). A missing tool is an Error naming the package.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface SourcePackageSpec {
  /** source package name (also the name of its single binary package) */
  name: string;
  /** e.g. '1.0-1' or '2:1.0' (3.0 (native) when there is no '-' revision; else 3.0 (quilt) with an orig tarball) */
  version: string;
  /** the Source stanza's Architecture field value, default 'any' (e.g. 'all', 'linux-any', 'amd64 i386', 'any-arm64', 'hurd-any') */
  architecture?: string;
  /**
   * extra shell lines for debian/rules' build step (default: a trivial build
   * producing one binary package with one file). They run with `sh -e` in the
   * unpacked source tree after the default step, which writes
   * `build/<name>.txt`; everything under `build/` ends up in the .deb under
   * `/usr/share/<name>/`.
   */
  buildScript?: string;
  /** the Build-Depends field (none by default: the harness's packages need only dpkg-dev) */
  buildDepends?: string;
}

export interface MirrorSuiteSpec {
  suite: string;
  packages: SourcePackageSpec[];
}

export type SignMode = 'inrelease' | 'detached' | 'both' | 'none';

export interface WriteSuiteOptions {
  /** which signatures to write (default 'both'); stale signature files of the other kind are removed */
  sign?: SignMode;
  /** sign with the mirror's key ('main', default) or the unrelated one ('other') */
  signWith?: 'main' | 'other';
  /** Valid-Until field of the Release file (none by default) */
  validUntil?: Date;
  /** Date field of the Release file (default: now) */
  date?: Date;
}

export interface ServeOptions {
  /**
   * Fault injection: called for every request before the file is served. Return
   * true when it has handled (answered or destroyed) the request itself.
   */
  intercept?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;
}

export interface ServedRequest {
  method: string;
  /** the request target as sent by the client (path and query) */
  url: string;
  /** 0 when the response was not completed (client went away, or an intercept destroyed it) */
  status: number;
}

export interface MirrorServer {
  /** e.g. http://127.0.0.1:40123/debian (no trailing slash) */
  url: string;
  port: number;
  /** every request once its response has ended, in order */
  requests: ServedRequest[];
  close(): Promise<void>;
}

export interface TestMirror {
  /** mirror root dir (has dists/ and pool/) */
  root: string;
  /** binary OpenPGP keyring (gpg --export, NOT armored) of the signing key, for gpgv --keyring */
  keyring: string;
  /** keyring of an unrelated second key (for "signed by the wrong key" tests) */
  otherKeyring: string;
  gnupgHome: string;
  /** fingerprints of the signing key and the unrelated key */
  fingerprint: string;
  otherFingerprint: string;
  /**
   * (Re)generate one suite: build missing source packages with `dpkg-source -b`
   * (in a scratch dir), place them in pool/main/<prefix>/<name>/, index with
   * `dpkg-scansources`, write dists/<suite>/main/source/Sources, Sources.gz and
   * Sources.xz and a signed Release. A package left out of the spec disappears
   * from Sources (its pool files stay). The pool is keyed by name and version:
   * asking for the same name and version with a different architecture or
   * build script is an error.
   */
  writeSuite(spec: MirrorSuiteSpec, opts?: WriteSuiteOptions): Promise<void>;
  /** write raw bytes as a suite's Sources (plus .gz/.xz) and re-generate + re-sign its Release */
  writeRawSources(suite: string, text: string | Buffer, opts?: WriteSuiteOptions): Promise<void>;
  /** write raw text as a suite's Release and sign it (for hostile or malformed Release tests) */
  writeRawRelease(suite: string, text: string | Buffer, opts?: Pick<WriteSuiteOptions, 'sign' | 'signWith'>): Promise<void>;
  /** path of dists/<suite>/<rel> (e.g. 'main/source/Sources.xz') for tests that corrupt files afterwards */
  distPath(suite: string, rel: string): string;
  /** the .dsc path in the pool for a package (for later build tests) */
  dscPath(name: string, version: string): string;
  /** HTTP on 127.0.0.1:<random port> serving root under /debian (GET and HEAD, 404 for missing files and dirs) */
  serve(opts?: ServeOptions): Promise<MirrorServer>;
  /** close servers, stop gpg-agent, remove the temp dirs (idempotent) */
  cleanup(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Running tools
// ---------------------------------------------------------------------------

/** Debian package that ships each tool the harness or its tests run. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  gpg: 'gpg',
  'gpg-agent': 'gpg-agent',
  gpgconf: 'gpgconf',
  gpgv: 'gpgv',
  'dpkg-source': 'dpkg-dev',
  'dpkg-scansources': 'dpkg-dev',
  'dpkg-buildpackage': 'dpkg-dev',
  'dpkg-gencontrol': 'dpkg-dev',
  'dpkg-deb': 'dpkg',
  make: 'make',
  xz: 'xz-utils',
  tar: 'tar',
};

function missingToolError(tool: string): Error {
  const pkg = TOOL_PACKAGES[tool] ?? tool;
  return new Error(`mirror harness: '${tool}' is not installed: install the Debian package ${pkg} ` + `(apt-get install -y --no-install-recommends ${pkg})`);
}

/** Throws (naming the Debian package) unless every tool is an executable on PATH. */
export async function requireTools(...tools: string[]): Promise<void> {
  const dirs = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  for (const tool of tools) {
    let found = false;
    for (const d of dirs) {
      try {
        await fs.access(path.join(d, tool), fsConstants.X_OK);
        found = true;
        break;
      } catch {
        // next PATH entry
      }
    }
    if (!found) throw missingToolError(tool);
  }
}

export interface RunOptions {
  cwd?: string;
  /** merged over process.env */
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** resolve with the exit code instead of throwing on a non-zero exit */
  allowFail?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Run a tool without a shell. Missing tool: Error naming its Debian package.
 * Non-zero exit: Error quoting stderr (unless allowFail).
 */
export function runTool(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, LC_ALL: 'C.UTF-8', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // EPIPE if the tool exits early; its exit status tells
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? missingToolError(path.basename(cmd)) : e);
    });
    child.once('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const result: RunResult = { code: code ?? -1, stdout: Buffer.concat(out), stderr };
      if (code === 0 || opts.allowFail) resolve(result);
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${code}`})` +
              `${opts.cwd ? ` in ${opts.cwd}` : ''}:\n${stderr}${result.stdout.toString('utf8').slice(0, 4000)}`,
          ),
        );
    });
    child.stdin.end(opts.input ?? '');
  });
}

// ---------------------------------------------------------------------------
// Versions, names, pool layout
// ---------------------------------------------------------------------------

const NAME_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION_RE = /^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$/;
const SUITE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface VersionParts {
  epoch: string | undefined;
  upstream: string;
  revision: string | undefined;
  /** version without the epoch: what file names use */
  noEpoch: string;
  native: boolean;
}

export function versionParts(version: string): VersionParts {
  const m = VERSION_RE.exec(version);
  if (!m || version.includes(':') !== (m[1] !== undefined) || m[2]?.includes(':')) {
    throw new Error(`mirror harness: invalid Debian version '${version}'`);
  }
  const upstream = m[2] ?? '';
  const revision = m[3];
  return {
    epoch: m[1],
    upstream,
    revision,
    noEpoch: revision === undefined ? upstream : `${upstream}-${revision}`,
    native: revision === undefined,
  };
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new Error(`mirror harness: invalid source package name '${name}'`);
}

/** pool/main/<prefix>/<name> relative dir: prefix is the first letter, or lib + next letter for lib*. */
export function poolRelDir(name: string): string {
  checkName(name);
  const prefix = name.startsWith('lib') && name.length > 3 ? name.slice(0, 4) : name.slice(0, 1);
  return path.posix.join('pool', 'main', prefix, name);
}

// ---------------------------------------------------------------------------
// Source packages
// ---------------------------------------------------------------------------

const MAINTAINER = 'reprofarm test <test@reprofarm.invalid>';
const CHANGELOG_DATE = 'Sat, 28 Nov 2026 08:00:00 +0000';

function controlFile(spec: SourcePackageSpec): string {
  return [
    `Source: ${spec.name}`,
    'Section: misc',
    'Priority: optional',
    `Maintainer: ${MAINTAINER}`,
    'Standards-Version: 4.6.2',
    'Rules-Requires-Root: no',
    ...(spec.buildDepends ? [`Build-Depends: ${spec.buildDepends}`] : []),
    '',
    `Package: ${spec.name}`,
    `Architecture: ${spec.architecture ?? 'any'}`,
    `Description: reprofarm test package ${spec.name}`,
    " Built by reprofarm's test mirror harness: one file, no debhelper.",
    '',
  ].join('\n');
}

function changelogFile(spec: SourcePackageSpec): string {
  return `${spec.name} (${spec.version}) unstable; urgency=medium\n\n` + '  * Test package.\n\n' + ` -- ${MAINTAINER}  ${CHANGELOG_DATE}\n`;
}

function copyrightFile(spec: SourcePackageSpec): string {
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${spec.name}`,
    'Source: https://reprofarm.invalid/',
    '',
    'Files: *',
    'Copyright: 2026 reprofarm test',
    'License: GPL-2+',
    ' On Debian systems, the full text of the GNU General Public License',
    ' version 2 can be found in /usr/share/common-licenses/GPL-2.',
    '',
  ].join('\n');
}

/**
 * Plain make file: no debhelper (debhelper-compat is not installed). The one
 * binary package is built by binary-indep for Architecture: all and by
 * binary-arch otherwise, so -A/-B builds do the right thing too.
 */
function rulesFile(spec: SourcePackageSpec): string {
  const indep = (spec.architecture ?? 'any').trim() === 'all';
  const pkgRecipe = [
    '\trm -rf debian/tmp',
    '\tinstall -d debian/tmp/DEBIAN debian/tmp/usr/share/$(PKG) debian/tmp/usr/share/doc/$(PKG)',
    '\tcp -R build/. debian/tmp/usr/share/$(PKG)/',
    '\tinstall -m 644 debian/copyright debian/tmp/usr/share/doc/$(PKG)/copyright',
    // as dh_fixperms does: permissions must not depend on the umask
    '\tchmod -R u=rwX,go=rX debian/tmp',
    '\tdpkg-gencontrol -p$(PKG) -Pdebian/tmp',
    '\tdpkg-deb --root-owner-group --build debian/tmp ..',
  ].join('\n');
  return [
    '#!/usr/bin/make -f',
    "# Generated by reprofarm's test mirror harness.",
    `PKG := ${spec.name}`,
    '',
    'build: build-arch build-indep',
    'build-arch build-indep: build-stamp',
    'build-stamp:',
    '\tmkdir -p build',
    `\tprintf '%s\\n' '${spec.name} ${spec.version}' > build/$(PKG).txt`,
    ...(spec.buildScript !== undefined ? ['\tsh -e debian/build.sh'] : []),
    '\ttouch $@',
    '',
    'binary: binary-arch binary-indep',
    `binary-arch: build-arch${indep ? '' : `\n${pkgRecipe}`}`,
    `binary-indep: build-indep${indep ? `\n${pkgRecipe}` : ''}`,
    '',
    'clean:',
    '\trm -rf build build-stamp debian/tmp debian/files debian/substvars',
    '',
    '.PHONY: build build-arch build-indep binary binary-arch binary-indep clean',
    '',
  ].join('\n');
}

/**
 * Write a minimal but valid source package tree (debian/control, changelog,
 * rules, source/format, copyright; for a quilt version also a deterministic
 * orig tarball) under workDir and run `dpkg-source -b`; returns the .dsc path
 * (in workDir). Exported for the build tests of a later issue.
 */
export async function buildSourcePackage(spec: SourcePackageSpec, workDir: string): Promise<string> {
  checkName(spec.name);
  const v = versionParts(spec.version);
  const arch = (spec.architecture ?? 'any').trim();
  if (!/^[a-z0-9-]+( [a-z0-9-]+)*$/.test(arch)) throw new Error(`mirror harness: invalid architecture '${arch}'`);
  await fs.mkdir(workDir, { recursive: true });
  const dirName = `${spec.name}-${v.upstream}`;
  const tree = path.join(workDir, dirName);
  await fs.rm(tree, { recursive: true, force: true });
  await fs.mkdir(tree);
  await fs.writeFile(path.join(tree, 'README'), `${spec.name} ${v.upstream}: a reprofarm test package.\n`);
  if (!v.native) {
    // Deterministic bytes: two revisions of one upstream version share the orig tarball in the pool.
    const { stdout } = await runTool(
      'tar',
      ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=u=rwX,go=rX', '-cf', '-', dirName],
      { cwd: workDir },
    );
    await fs.writeFile(path.join(workDir, `${spec.name}_${v.upstream}.orig.tar.gz`), gzipSync(stdout, { level: 9 }));
  }
  const deb = path.join(tree, 'debian');
  await fs.mkdir(path.join(deb, 'source'), { recursive: true });
  await fs.writeFile(path.join(deb, 'source', 'format'), v.native ? '3.0 (native)\n' : '3.0 (quilt)\n');
  await fs.writeFile(path.join(deb, 'control'), controlFile({ ...spec, architecture: arch }));
  await fs.writeFile(path.join(deb, 'changelog'), changelogFile(spec));
  await fs.writeFile(path.join(deb, 'copyright'), copyrightFile(spec));
  await fs.writeFile(path.join(deb, 'rules'), rulesFile({ ...spec, architecture: arch }), { mode: 0o755 });
  if (spec.buildScript !== undefined) {
    await fs.writeFile(path.join(deb, 'build.sh'), spec.buildScript.endsWith('\n') ? spec.buildScript : `${spec.buildScript}\n`);
  }
  await runTool('dpkg-source', ['-b', dirName], { cwd: workDir });
  const dsc = path.join(workDir, `${spec.name}_${v.noEpoch}.dsc`);
  await fs.access(dsc).catch(() => {
    throw new Error(`mirror harness: dpkg-source -b did not write ${dsc}`);
  });
  return dsc;
}

/** File names listed in a .dsc's Files field. */
export function dscFiles(dscText: string): string[] {
  const files: string[] = [];
  let inFiles = false;
  for (const line of dscText.split('\n')) {
    if (/^Files:/i.test(line)) {
      inFiles = true;
      continue;
    }
    if (inFiles && /^[ \t]/.test(line)) {
      const name = line.trim().split(/\s+/)[2];
      if (name) files.push(name);
    } else if (inFiles) {
      inFiles = false;
    }
  }
  return files;
}

// ---------------------------------------------------------------------------
// Sources / Release helpers
// ---------------------------------------------------------------------------

/** RFC 2822 date in UTC, as `date -R -u` / the Debian archive writes it: 'Sat, 28 Nov 2026 08:00:00 UTC'. */
export function releaseDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC');
}

const SOURCES_FILES = ['main/source/Sources', 'main/source/Sources.gz', 'main/source/Sources.xz'] as const;

/** Release text for a suite whose index files (relative to dists/<suite>) have the given contents. */
export function releaseText(suite: string, files: ReadonlyArray<readonly [rel: string, data: Buffer]>, opts: { date?: Date; validUntil?: Date } = {}): string {
  const sum = (algo: string) => files.map(([rel, data]) => ` ${createHash(algo).update(data).digest('hex')} ${String(data.length).padStart(16)} ${rel}`);
  return [
    'Origin: reprofarm',
    'Label: reprofarm test mirror',
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    `Date: ${releaseDate(opts.date ?? new Date())}`,
    ...(opts.validUntil ? [`Valid-Until: ${releaseDate(opts.validUntil)}`] : []),
    'Architectures: amd64 arm64 armhf i386',
    'Components: main',
    'Description: reprofarm test mirror',
    'MD5Sum:',
    ...sum('md5'),
    'SHA256:',
    ...sum('sha256'),
    '',
  ].join('\n');
}

/** Split deb822 text into paragraphs (without their trailing blank lines). */
function paragraphs(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\n+$/g, ''))
    .filter((p) => p.length > 0);
}

function paragraphField(p: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(p);
  return m?.[1]?.trim();
}

/**
 * `count` synthetic but well-formed Sources stanzas (pool files do not exist),
 * for benchmarks of index parsing and sync at Debian scale (~35k sources).
 */
export function syntheticSources(count: number): string {
  const archs = ['any', 'all', 'linux-any', 'amd64 i386', 'any-arm64', 'any'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${i % 7 === 0 ? 'lib' : ''}pkg${i.toString(36)}`;
    const version = `${1 + (i % 5)}.${i % 13}-${1 + (i % 3)}`;
    const v = versionParts(version);
    const h = createHash('sha256').update(name).digest('hex');
    const m = createHash('md5').update(name).digest('hex');
    out.push(
      [
        `Package: ${name}`,
        `Binary: ${name}, ${name}-dev, ${name}-doc`,
        `Version: ${version}`,
        `Maintainer: ${MAINTAINER}`,
        'Build-Depends: debhelper-compat (= 13), libfoo-dev (>= 1.2) [linux-any], pkg-config',
        `Architecture: ${archs[i % archs.length] ?? 'any'}`,
        'Standards-Version: 4.6.2',
        'Format: 3.0 (quilt)',
        'Files:',
        ` ${m} 1234 ${name}_${v.noEpoch}.dsc`,
        ` ${m} 123456 ${name}_${v.upstream}.orig.tar.xz`,
        ` ${m} 4567 ${name}_${v.noEpoch}.debian.tar.xz`,
        'Checksums-Sha256:',
        ` ${h} 1234 ${name}_${v.noEpoch}.dsc`,
        ` ${h} 123456 ${name}_${v.upstream}.orig.tar.xz`,
        ` ${h} 4567 ${name}_${v.noEpoch}.debian.tar.xz`,
        'Package-List:',
        ` ${name} deb libs optional arch=any`,
        ` ${name}-dev deb libdevel optional arch=any`,
        ` ${name}-doc deb doc optional arch=all`,
        `Directory: ${poolRelDir(name)}`,
        'Priority: source',
        'Section: misc',
      ].join('\n'),
    );
  }
  return out.length ? `${out.join('\n\n')}\n` : '';
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

/** Atomic write (temp file + rename), so a file served meanwhile is never half-written. */
async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

async function xz(data: Buffer): Promise<Buffer> {
  return (await runTool('xz', ['-6', '-T1', '-c'], { input: data })).stdout;
}

function shortTmpParent(): string {
  const t = os.tmpdir();
  return t.length <= 40 ? t : '/tmp';
}

// ---------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------

const MOUNT = '/debian';

async function startServer(rootDir: string, opts: ServeOptions): Promise<MirrorServer> {
  const rootReal = await fs.realpath(rootDir);
  const requests: ServedRequest[] = [];

  const plain = (res: http.ServerResponse, status: number, body: string, extra: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };

  /** Absolute file path inside the root for a request target, or undefined (404). */
  const resolveTarget = async (target: string): Promise<string | undefined> => {
    const rawPath = target.split('?')[0] ?? '';
    if (!rawPath.startsWith(`${MOUNT}/`)) return undefined;
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath.slice(MOUNT.length + 1));
    } catch {
      return undefined;
    }
    const segs = decoded.split('/');
    if (segs.some((s) => s === '..' || s.includes('\0') || s.includes('\\'))) return undefined;
    const rel = segs.filter((s) => s !== '' && s !== '.');
    if (rel.length === 0) return undefined;
    const file = path.join(rootReal, ...rel);
    if (!file.startsWith(rootReal + path.sep)) return undefined;
    try {
      const real = await fs.realpath(file);
      return real.startsWith(rootReal + path.sep) ? real : undefined;
    } catch {
      return undefined;
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (opts.intercept && (await opts.intercept(req, res))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    const file = await resolveTarget(req.url ?? '/');
    let fh: fs.FileHandle | undefined;
    try {
      if (file !== undefined) fh = await fs.open(file, 'r');
    } catch {
      fh = undefined;
    }
    if (!fh) {
      plain(res, 404, 'not found\n');
      return;
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      plain(res, 404, 'not found\n'); // no directory listing
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': st.size,
      'Last-Modified': st.mtime.toUTCString(),
    });
    if (req.method === 'HEAD') {
      await fh.close();
      res.end();
      return;
    }
    // Stream from the opened handle: a file replaced meanwhile (atomic rename) is served consistently.
    const stream = fh.createReadStream({ autoClose: true });
    stream.once('error', () => res.destroy());
    // a client that goes away early must not leave the file handle to the garbage collector
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  };

  const server = http.createServer((req, res) => {
    res.once('close', () => requests.push({ method: req.method ?? '', url: req.url ?? '', status: res.writableFinished ? res.statusCode : 0 }));
    handle(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}${MOUNT}`,
    port,
    requests,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------
// The mirror
// ---------------------------------------------------------------------------

const KEY_UID = 'reprofarm test <test@reprofarm.invalid>';
const OTHER_UID = 'reprofarm unrelated <other@reprofarm.invalid>';
const GPG_BATCH = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];

/**
 * Create an empty mirror (no suites yet) with two fresh signing keys.
 * `dir` is the parent of the mirror's temp dir (default os.tmpdir()); the
 * GNUPGHOME always goes under a short tmp dir. Call cleanup() when done.
 */
export async function createTestMirror(opts: { dir?: string } = {}): Promise<TestMirror> {
  await requireTools('gpg', 'gpg-agent', 'gpgconf', 'dpkg-source', 'dpkg-scansources', 'xz', 'tar');
  const parent = path.resolve(opts.dir ?? os.tmpdir());
  const base = await fs.mkdtemp(path.join(parent, 'reprofarm-mirror-'));
  const gnupgHome = await fs.mkdtemp(path.join(shortTmpParent(), 'rfg-'));
  const root = path.join(base, 'mirror');
  const work = path.join(base, 'work');
  const keyring = path.join(base, 'keyring.gpg');
  const otherKeyring = path.join(base, 'other-keyring.gpg');
  const gpgEnv = { GNUPGHOME: gnupgHome };
  const servers = new Set<MirrorServer>();

  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      await Promise.all([...servers].map((s) => s.close()));
      await runTool('gpgconf', ['--kill', 'all'], { env: gpgEnv, allowFail: true }).catch(() => undefined);
      await fs.rm(gnupgHome, { recursive: true, force: true });
      await fs.rm(base, { recursive: true, force: true });
    })();
    return cleaned;
  };

  const gpg = (args: string[], input?: Buffer | string) => runTool('gpg', [...GPG_BATCH, ...args], { env: gpgEnv, ...(input !== undefined ? { input } : {}) });

  const genKey = async (uid: string): Promise<string> => {
    const { stdout } = await gpg(['--status-fd', '1', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
    const m = /^\[GNUPG:\] KEY_CREATED \w+ ([0-9A-F]{40})$/m.exec(stdout.toString('utf8'));
    if (!m?.[1]) throw new Error(`mirror harness: gpg --quick-gen-key printed no KEY_CREATED:\n${stdout.toString('utf8')}`);
    return m[1];
  };

  let fingerprint: string;
  let otherFingerprint: string;
  try {
    await fs.chmod(gnupgHome, 0o700);
    await fs.chmod(base, 0o755); // other users (e.g. the sshd harness' node user) may read the pool
    await fs.mkdir(path.join(root, 'pool', 'main'), { recursive: true });
    await fs.mkdir(path.join(root, 'dists'), { recursive: true });
    await fs.mkdir(work);
    fingerprint = await genKey(KEY_UID);
    otherFingerprint = await genKey(OTHER_UID);
    for (const [fpr, file] of [
      [fingerprint, keyring],
      [otherFingerprint, otherKeyring],
    ] as const) {
      const { stdout } = await gpg(['--export', fpr]);
      if (stdout.length === 0) throw new Error(`mirror harness: gpg --export ${fpr} exported nothing`);
      await fs.writeFile(file, stdout);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  // Pool identity: name_version -> the spec it was built from.
  const built = new Map<string, string>();
  // Serialize suite writes: they share the pool and scratch dirs.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn);
    queue = p.catch(() => undefined);
    return p;
  };

  const suiteDir = (suite: string): string => {
    if (!SUITE_RE.test(suite)) throw new Error(`mirror harness: invalid suite name '${suite}'`);
    return path.join(root, 'dists', suite);
  };

  const distPath = (suite: string, rel: string): string => {
    const dir = suiteDir(suite);
    const p = path.resolve(dir, rel);
    if (!p.startsWith(dir + path.sep)) throw new Error(`mirror harness: '${rel}' escapes dists/${suite}`);
    return p;
  };

  const dscPath = (name: string, version: string): string => path.join(root, poolRelDir(name), `${name}_${versionParts(version).noEpoch}.dsc`);

  const sign = async (suite: string, mode: SignMode, signWith: 'main' | 'other'): Promise<void> => {
    const release = distPath(suite, 'Release');
    const inRelease = distPath(suite, 'InRelease');
    const detached = distPath(suite, 'Release.gpg');
    const fpr = signWith === 'other' ? otherFingerprint : fingerprint;
    const tasks: Promise<unknown>[] = [];
    if (mode === 'inrelease' || mode === 'both') {
      tasks.push(
        gpg(['--yes', '--local-user', fpr, '--digest-algo', 'SHA256', '--clearsign', '-o', `${inRelease}.new`, release]).then(() =>
          fs.rename(`${inRelease}.new`, inRelease),
        ),
      );
    } else tasks.push(fs.rm(inRelease, { force: true }));
    if (mode === 'detached' || mode === 'both') {
      tasks.push(
        gpg(['--yes', '--local-user', fpr, '--digest-algo', 'SHA256', '--armor', '--detach-sign', '-o', `${detached}.new`, release]).then(() =>
          fs.rename(`${detached}.new`, detached),
        ),
      );
    } else tasks.push(fs.rm(detached, { force: true }));
    await Promise.all(tasks);
  };

  const publishSources = async (suite: string, data: Buffer, o: WriteSuiteOptions): Promise<void> => {
    const [gz, xzData] = [gzipSync(data, { level: 9 }), await xz(data)];
    const contents = [data, gz, xzData] as const;
    const files = SOURCES_FILES.map((rel, i) => [rel, contents[i] as Buffer] as const);
    for (const [rel, bytes] of files) await writeAtomic(distPath(suite, rel), bytes);
    const opt: { date?: Date; validUntil?: Date } = {};
    if (o.date) opt.date = o.date;
    if (o.validUntil) opt.validUntil = o.validUntil;
    await writeAtomic(distPath(suite, 'Release'), releaseText(suite, files, opt));
    await sign(suite, o.sign ?? 'both', o.signWith ?? 'main');
  };

  /** Build one source package in a scratch dir and copy its files into the pool. */
  const addToPool = async (spec: SourcePackageSpec): Promise<void> => {
    const v = versionParts(spec.version);
    const scratch = await fs.mkdtemp(path.join(work, `${spec.name}_${v.noEpoch.replace(/[^A-Za-z0-9.+~-]/g, '_')}-`));
    try {
      const dsc = await buildSourcePackage(spec, scratch);
      const poolDir = path.join(root, poolRelDir(spec.name));
      await fs.mkdir(poolDir, { recursive: true });
      const names = dscFiles(await fs.readFile(dsc, 'utf8'));
      for (const f of names) {
        const src = path.join(scratch, f);
        const dst = path.join(poolDir, f);
        const bytes = await fs.readFile(src);
        const existing = await fs.readFile(dst).catch(() => undefined);
        if (existing) {
          if (!existing.equals(bytes)) throw new Error(`mirror harness: pool file ${dst} exists with different content`);
          continue;
        }
        await writeAtomic(dst, bytes);
      }
      await writeAtomic(path.join(poolDir, path.basename(dsc)), await fs.readFile(dsc)); // the .dsc last: it marks the package complete
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  };

  const writeSuite = (spec: MirrorSuiteSpec, o: WriteSuiteOptions = {}): Promise<void> =>
    serialized(async () => {
      suiteDir(spec.suite);
      const wanted = new Map<string, SourcePackageSpec>();
      for (const p of spec.packages) {
        checkName(p.name);
        versionParts(p.version);
        const key = `${p.name}\n${p.version}`;
        const identity = JSON.stringify([(p.architecture ?? 'any').trim(), p.buildScript ?? null, p.buildDepends ?? null]);
        const known = built.get(key);
        if (known !== undefined && known !== identity) {
          throw new Error(`mirror harness: ${p.name} ${p.version} is already in the pool with another architecture or build script; use a new version`);
        }
        const dup = wanted.get(key);
        if (dup && JSON.stringify([(dup.architecture ?? 'any').trim(), dup.buildScript ?? null, p.buildDepends ?? null]) !== identity) {
          throw new Error(`mirror harness: ${p.name} ${p.version} appears twice in suite ${spec.suite} with different specs`);
        }
        wanted.set(key, p);
      }
      const missing: SourcePackageSpec[] = [];
      for (const [key, p] of wanted) {
        if (built.has(key)) continue;
        const exists = await fs.access(dscPath(p.name, p.version)).then(
          () => true,
          () => false,
        );
        if (!exists) missing.push(p);
      }
      await mapLimit(missing, Math.max(2, Math.min(4, os.availableParallelism())), async (p) => {
        await addToPool(p);
      });
      for (const [key, p] of wanted) built.set(key, JSON.stringify([(p.architecture ?? 'any').trim(), p.buildScript ?? null, p.buildDepends ?? null]));

      const { stdout } = await runTool('dpkg-scansources', ['pool/main', '/dev/null'], { cwd: root });
      const kept: string[] = [];
      const seen = new Set<string>();
      for (const para of paragraphs(stdout.toString('utf8'))) {
        const key = `${paragraphField(para, 'Package') ?? ''}\n${paragraphField(para, 'Version') ?? ''}`;
        if (wanted.has(key) && !seen.has(key)) {
          kept.push(para);
          seen.add(key);
        }
      }
      for (const key of wanted.keys()) {
        if (!seen.has(key)) throw new Error(`mirror harness: dpkg-scansources did not index ${key.replace('\n', ' ')}`);
      }
      // dpkg-scansources' own layout: every stanza ends with a blank line
      await publishSources(spec.suite, Buffer.from(kept.map((p) => `${p}\n\n`).join('')), o);
    });

  const writeRawSources = (suite: string, text: string | Buffer, o: WriteSuiteOptions = {}): Promise<void> =>
    serialized(async () => {
      suiteDir(suite);
      await publishSources(suite, typeof text === 'string' ? Buffer.from(text, 'utf8') : text, o);
    });

  const writeRawRelease = (suite: string, text: string | Buffer, o: Pick<WriteSuiteOptions, 'sign' | 'signWith'> = {}): Promise<void> =>
    serialized(async () => {
      await writeAtomic(distPath(suite, 'Release'), text);
      await sign(suite, o.sign ?? 'both', o.signWith ?? 'main');
    });

  return {
    root,
    keyring,
    otherKeyring,
    gnupgHome,
    fingerprint,
    otherFingerprint,
    writeSuite,
    writeRawSources,
    writeRawRelease,
    distPath,
    dscPath,
    async serve(serveOpts: ServeOptions = {}) {
      const s = await startServer(root, serveOpts);
      servers.add(s);
      const close = s.close.bind(s);
      s.close = async () => {
        servers.delete(s);
        await close();
      };
      return s;
    },
    cleanup,
  };
}
