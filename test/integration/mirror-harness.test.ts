/**
 * Proves the mirror test harness builds a real Debian archive: dpkg-source
 * packages indexed by dpkg-scansources, a Release signed so that gpgv accepts
 * it with the mirror's keyring and rejects it with the unrelated one, loopback
 * HTTP serving that refuses path escapes, and a .dsc that dpkg-buildpackage
 * really builds.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MirrorServer, type SourcePackageSpec, type TestMirror, createTestMirror, poolRelDir, runTool, syntheticSources } from '../harness/mirror.js';

const PACKAGES: SourcePackageSpec[] = [
  // quilt, with an orig tarball, and a build script that adds a second file
  { name: 'hello', version: '1.0-1', buildScript: 'echo "extra $(echo built)" > build/extra.txt' },
  { name: 'docs-common', version: '0.5', architecture: 'all' },
  { name: 'linuxonly', version: '2:1.0', architecture: 'linux-any' }, // epoch, native
  { name: 'twoarch', version: '3.1', architecture: 'amd64 i386' },
  { name: 'libarmish', version: '0.1-2', architecture: 'any-arm64' },
  { name: 'hurdish', version: '1.0', architecture: 'hurd-any' },
];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The stanza for `pkg` in a Sources text (exactly one expected). */
function stanza(sources: string, pkg: string): string {
  const found = sources.split(/\n\n+/).filter((p) => new RegExp(`^Package: ${pkg.replace(/[.+]/g, '\\$&')}$`, 'm').test(p));
  expect(found, `stanzas for ${pkg}`).toHaveLength(1);
  return found[0] ?? '';
}

function gpgv(keyring: string, ...files: string[]) {
  return runTool('gpgv', ['--keyring', keyring, ...files], { allowFail: true });
}

/** Raw HTTP request without client-side path normalization (fetch() would resolve '..'). */
function rawRequest(port: number, method: string, target: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('test mirror harness', () => {
  let mirror: TestMirror;
  let server: MirrorServer;
  let createMs = 0;
  let writeMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    mirror = await createTestMirror();
    const t1 = performance.now();
    await mirror.writeSuite({ suite: 'bookworm', packages: PACKAGES });
    const t2 = performance.now();
    createMs = t1 - t0;
    writeMs = t2 - t1;
    server = await mirror.serve();
  });

  afterAll(async () => {
    await mirror?.cleanup();
  });

  it('is fast enough for tests', () => {
    const timings = `keys ${createMs.toFixed(0)} ms, ${PACKAGES.length} packages built+indexed+signed ${writeMs.toFixed(0)} ms`;
    expect(createMs, timings).toBeLessThan(5_000);
    expect(writeMs, timings).toBeLessThan(20_000);
  });

  it('lays out the pool and the GNUPGHOME as specified', async () => {
    expect(poolRelDir('hello')).toBe('pool/main/h/hello');
    expect(poolRelDir('libarmish')).toBe('pool/main/liba/libarmish');
    expect(mirror.dscPath('linuxonly', '2:1.0')).toBe(path.join(mirror.root, 'pool/main/l/linuxonly/linuxonly_1.0.dsc'));
    for (const p of PACKAGES) expect(existsSync(mirror.dscPath(p.name, p.version)), p.name).toBe(true);
    expect(existsSync(path.join(mirror.root, 'pool/main/h/hello/hello_1.0.orig.tar.gz'))).toBe(true);
    expect(existsSync(path.join(mirror.root, 'pool/main/h/hello/hello_1.0-1.debian.tar.xz'))).toBe(true);
    expect(existsSync(path.join(mirror.root, 'pool/main/t/twoarch/twoarch_3.1.tar.xz'))).toBe(true);
    expect((await fs.stat(mirror.gnupgHome)).mode & 0o777).toBe(0o700);
    expect(mirror.gnupgHome.length).toBeLessThan(60);
    // binary keyrings, not armored
    for (const k of [mirror.keyring, mirror.otherKeyring]) {
      const bytes = await fs.readFile(k);
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.subarray(0, 10).toString('latin1')).not.toContain('-----');
    }
  });

  it('indexes every package in Sources with the expected fields', async () => {
    const sources = await fs.readFile(mirror.distPath('bookworm', 'main/source/Sources'), 'utf8');
    const expected: Record<string, { version: string; arch: string; format: string }> = {
      hello: { version: '1.0-1', arch: 'any', format: '3.0 (quilt)' },
      'docs-common': { version: '0.5', arch: 'all', format: '3.0 (native)' },
      linuxonly: { version: '2:1.0', arch: 'linux-any', format: '3.0 (native)' },
      twoarch: { version: '3.1', arch: 'amd64 i386', format: '3.0 (native)' },
      libarmish: { version: '0.1-2', arch: 'any-arm64', format: '3.0 (quilt)' },
      hurdish: { version: '1.0', arch: 'hurd-any', format: '3.0 (native)' },
    };
    expect(sources.match(/^Package: /gm)).toHaveLength(PACKAGES.length);
    for (const [name, e] of Object.entries(expected)) {
      const s = stanza(sources, name);
      expect(s).toMatch(new RegExp(`^Version: ${e.version.replace(/[.+]/g, '\\$&')}$`, 'm'));
      expect(s).toMatch(new RegExp(`^Architecture: ${e.arch}$`, 'm'));
      expect(s).toMatch(new RegExp(`^Directory: ${poolRelDir(name)}$`, 'm'));
      expect(s).toMatch(new RegExp(`^Format: ${e.format.replace(/[()]/g, '\\$&')}$`, 'm'));
      expect(s).toMatch(/^Checksums-Sha256:$/m);
      // the .dsc's checksum line matches the pool file
      const dsc = mirror.dscPath(name, e.version);
      const dscBytes = await fs.readFile(dsc);
      expect(s).toContain(` ${sha256(dscBytes)} ${dscBytes.length} ${path.basename(dsc)}\n`);
    }
    // quilt packages list their orig tarball too
    expect(stanza(sources, 'hello')).toMatch(/^ [0-9a-f]{64} \d+ hello_1\.0\.orig\.tar\.gz$/m);
    // .gz and .xz hold the same bytes
    const gz = await runTool('gzip', ['-dc', mirror.distPath('bookworm', 'main/source/Sources.gz')]);
    const xz = await runTool('xz', ['-dc', mirror.distPath('bookworm', 'main/source/Sources.xz')]);
    expect(gz.stdout.toString('utf8')).toBe(sources);
    expect(xz.stdout.toString('utf8')).toBe(sources);
  });

  it('writes a Release whose checksums match the index files', async () => {
    const release = await fs.readFile(mirror.distPath('bookworm', 'Release'), 'utf8');
    expect(release).toMatch(/^Suite: bookworm$/m);
    expect(release).toMatch(/^Codename: bookworm$/m);
    expect(release).toMatch(/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d UTC$/m);
    expect(release).not.toMatch(/^Valid-Until:/m);
    expect(release).toMatch(/^Architectures: amd64 arm64 armhf i386$/m);
    expect(release).toMatch(/^Components: main$/m);
    for (const rel of ['main/source/Sources', 'main/source/Sources.gz', 'main/source/Sources.xz']) {
      const bytes = await fs.readFile(mirror.distPath('bookworm', rel));
      const sha = createHash('sha256').update(bytes).digest('hex');
      const md5 = createHash('md5').update(bytes).digest('hex');
      expect(release).toMatch(new RegExp(`^ ${sha} +${bytes.length} ${rel}$`, 'm'));
      expect(release).toMatch(new RegExp(`^ ${md5} +${bytes.length} ${rel}$`, 'm'));
    }
    const sha256Section = /^SHA256:\n((?: .*\n)+)/m.exec(release)?.[1] ?? '';
    expect(sha256Section.trim().split('\n')).toHaveLength(3);
  });

  it('signs InRelease and Release.gpg so that gpgv accepts the key and rejects the other one', async () => {
    const inRelease = mirror.distPath('bookworm', 'InRelease');
    const detached = mirror.distPath('bookworm', 'Release.gpg');
    const release = mirror.distPath('bookworm', 'Release');
    const inText = await fs.readFile(inRelease, 'utf8');
    expect(inText).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n/);
    expect(inText).toContain(await fs.readFile(release, 'utf8'));
    expect(await fs.readFile(detached, 'utf8')).toMatch(/^-----BEGIN PGP SIGNATURE-----/);

    const good = await gpgv(mirror.keyring, inRelease);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toContain('Good signature');
    const goodDetached = await gpgv(mirror.keyring, detached, release);
    expect(goodDetached.code, goodDetached.stderr).toBe(0);

    const bad = await gpgv(mirror.otherKeyring, inRelease);
    expect(bad.code).not.toBe(0);
    const badDetached = await gpgv(mirror.otherKeyring, detached, release);
    expect(badDetached.code).not.toBe(0);
  });

  it('serves the root over loopback HTTP: same bytes, HEAD, 404s, no escapes', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/debian$/);
    const file = mirror.distPath('bookworm', 'main/source/Sources.xz');
    const bytes = await fs.readFile(file);
    const res = await fetch(`${server.url}/dists/bookworm/main/source/Sources.xz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);

    const head = await rawRequest(server.port, 'HEAD', '/debian/dists/bookworm/InRelease');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String((await fs.stat(mirror.distPath('bookworm', 'InRelease'))).size));
    expect(head.body.length).toBe(0);

    const dsc = await fetch(`${server.url}/${poolRelDir('hello')}/hello_1.0-1.dsc`);
    expect(dsc.status).toBe(200);
    expect(await dsc.text()).toBe(await fs.readFile(mirror.dscPath('hello', '1.0-1'), 'utf8'));

    expect((await fetch(`${server.url}/dists/bookworm/main/source/Sources.bz2`)).status).toBe(404);
    for (const target of [
      '/debian/../etc/passwd',
      '/debian/dists/../../../etc/passwd',
      '/debian/%2e%2e/%2e%2e/etc/passwd',
      '/debian/dists/..%2f..%2f..%2fetc/passwd',
      '/etc/passwd',
      '/debian/pool/main', // a directory: no listing
      '/debian/',
      '/debian',
    ]) {
      const r = await rawRequest(server.port, 'GET', target);
      expect(r.status, target).toBe(404);
      expect(r.body.toString('utf8')).not.toContain('root:');
    }
    expect((await rawRequest(server.port, 'POST', '/debian/dists/bookworm/Release')).status).toBe(405);
    expect(server.requests.some((r) => r.method === 'HEAD' && r.url === '/debian/dists/bookworm/InRelease' && r.status === 200)).toBe(true);
  });

  it('produces a .dsc that unpacks and builds with dpkg-buildpackage', async () => {
    const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-build-'));
    try {
      await runTool('dpkg-source', ['-x', mirror.dscPath('hello', '1.0-1'), 'src'], { cwd: scratch });
      await runTool('dpkg-buildpackage', ['-us', '-uc', '-b'], { cwd: path.join(scratch, 'src') });
      const entries = await fs.readdir(scratch);
      const deb = entries.find((e) => /^hello_1\.0-1_[a-z0-9]+\.deb$/.test(e));
      expect(deb, entries.join(' ')).toBeDefined();
      const contents = (await runTool('dpkg-deb', ['-c', path.join(scratch, deb ?? '')])).stdout.toString('utf8');
      expect(contents).toContain('./usr/share/hello/hello.txt');
      expect(contents).toContain('./usr/share/hello/extra.txt');
      expect(contents).toContain('./usr/share/doc/hello/copyright');
      const fields = (await runTool('dpkg-deb', ['-f', path.join(scratch, deb ?? ''), 'Package', 'Version'])).stdout.toString('utf8');
      expect(fields).toContain('Package: hello\nVersion: 1.0-1\n');
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  });

  it('drops a package removed from the spec from Sources and keeps its pool files', async () => {
    const fewer = PACKAGES.filter((p) => p.name !== 'twoarch');
    await mirror.writeSuite({ suite: 'bookworm', packages: fewer });
    const sources = await fs.readFile(mirror.distPath('bookworm', 'main/source/Sources'), 'utf8');
    expect(sources).not.toMatch(/^Package: twoarch$/m);
    expect(sources.match(/^Package: /gm)).toHaveLength(fewer.length);
    expect(existsSync(mirror.dscPath('twoarch', '3.1'))).toBe(true);
    expect((await gpgv(mirror.keyring, mirror.distPath('bookworm', 'InRelease'))).code).toBe(0);
  });

  it('keeps suites apart and shares one orig tarball between revisions', async () => {
    await mirror.writeSuite({
      suite: 'trixie',
      packages: [
        { name: 'hello', version: '1.0-1', buildScript: 'echo "extra $(echo built)" > build/extra.txt' },
        { name: 'hello', version: '1.0-2' },
      ],
    });
    const trixie = await fs.readFile(mirror.distPath('trixie', 'main/source/Sources'), 'utf8');
    expect(trixie.match(/^Package: hello$/gm)).toHaveLength(2);
    expect(trixie).toMatch(/^Version: 1\.0-2$/m);
    expect(trixie).not.toMatch(/^Package: docs-common$/m);
    const bookworm = await fs.readFile(mirror.distPath('bookworm', 'main/source/Sources'), 'utf8');
    expect(bookworm).not.toMatch(/^Version: 1\.0-2$/m);
    // both .dsc files reference the same orig tarball bytes
    const orig = await fs.readFile(path.join(mirror.root, 'pool/main/h/hello/hello_1.0.orig.tar.gz'));
    for (const v of ['1.0-1', '1.0-2']) expect(await fs.readFile(mirror.dscPath('hello', v), 'utf8')).toContain(sha256(orig));
    // same name and version with another spec is refused
    await expect(mirror.writeSuite({ suite: 'trixie', packages: [{ name: 'hello', version: '1.0-2', architecture: 'all' }] })).rejects.toThrow(
      /already in the pool/,
    );
  });

  it('honours sign, signWith and validUntil', async () => {
    const suite = 'sid';
    const pkgs = { suite, packages: [PACKAGES[1] as SourcePackageSpec] };
    const inRelease = mirror.distPath(suite, 'InRelease');
    const detached = mirror.distPath(suite, 'Release.gpg');

    await mirror.writeSuite(pkgs, { sign: 'none' });
    expect(existsSync(mirror.distPath(suite, 'Release'))).toBe(true);
    expect(existsSync(inRelease)).toBe(false);
    expect(existsSync(detached)).toBe(false);

    await mirror.writeSuite(pkgs, { sign: 'detached' });
    expect(existsSync(inRelease)).toBe(false);
    expect((await gpgv(mirror.keyring, detached, mirror.distPath(suite, 'Release'))).code).toBe(0);

    await mirror.writeSuite(pkgs, { sign: 'inrelease', signWith: 'other', validUntil: new Date('2030-01-02T03:04:05Z') });
    expect(existsSync(detached)).toBe(false);
    expect((await gpgv(mirror.keyring, inRelease)).code).not.toBe(0);
    expect((await gpgv(mirror.otherKeyring, inRelease)).code).toBe(0);
    expect(await fs.readFile(mirror.distPath(suite, 'Release'), 'utf8')).toMatch(/^Valid-Until: Wed, 02 Jan 2030 03:04:05 UTC$/m);
  });

  it('writes raw Sources and re-signs the Release for them', async () => {
    const hostile = 'Package: evil\nVersion: 1.0\nDirectory: ../../../etc\nArchitecture: any\n\nnot a field line\n';
    await mirror.writeRawSources('hostile', hostile);
    const bytes = await fs.readFile(mirror.distPath('hostile', 'main/source/Sources'));
    expect(bytes.toString('utf8')).toBe(hostile);
    const xz = await fs.readFile(mirror.distPath('hostile', 'main/source/Sources.xz'));
    const release = await fs.readFile(mirror.distPath('hostile', 'Release'), 'utf8');
    expect(release).toContain(` ${sha256(xz)} `);
    expect((await gpgv(mirror.keyring, mirror.distPath('hostile', 'InRelease'))).code).toBe(0);

    await mirror.writeRawRelease('hostile', 'Suite: hostile\nSHA256:\n 00 1 main/source/Sources\n', { sign: 'inrelease' });
    expect((await gpgv(mirror.keyring, mirror.distPath('hostile', 'InRelease'))).code).toBe(0);
    expect(() => mirror.distPath('hostile', '../../etc')).toThrow(/escapes/);

    const synthetic = syntheticSources(1000);
    expect(synthetic.match(/^Package: /gm)).toHaveLength(1000);
  });

  it('cleanup closes servers, stops gpg-agent and removes the temp dirs', async () => {
    const m = await createTestMirror();
    const s = await m.serve();
    await m.writeRawSources('empty', '');
    expect((await fetch(`${s.url}/dists/empty/Release`)).status).toBe(200);
    const agentsFor = async (home: string) => {
      const pids = (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p));
      let n = 0;
      for (const pid of pids) {
        const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes('gpg-agent') && cmd.includes(home)) n++;
      }
      return n;
    };
    expect(await agentsFor(m.gnupgHome)).toBeGreaterThan(0);
    await m.cleanup();
    expect(existsSync(m.root)).toBe(false);
    expect(existsSync(m.gnupgHome)).toBe(false);
    await expect(fetch(`${s.url}/dists/empty/Release`)).rejects.toThrow();
    for (let i = 0; i < 40 && (await agentsFor(m.gnupgHome)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await agentsFor(m.gnupgHome)).toBe(0);
    await m.cleanup(); // idempotent
  });
});
