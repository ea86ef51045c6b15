import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appliesTo, archMatches } from '../../archive/arch.js';
import { parseDeb822Text, Deb822Parser, field, type Stanza, type Deb822Problem } from '../../archive/deb822.js';
import { compareVersions, isValidSourceName, isValidVersion, sourceNameProblem } from '../../archive/version.js';

describe('architecture wildcards', () => {
  it('matches like dpkg', () => {
    const yes: Array<[string, string]> = [
      ['any', 'amd64'],
      ['all', 'armhf'],
      ['linux-any', 'arm64'],
      ['any-amd64', 'amd64'],
      ['any-i386', 'hurd-i386'],
      ['amd64 i386', 'i386'],
      ['any-arm', 'armhf'],
      ['any-arm', 'armel'],
      ['gnu-any-any', 'amd64'],
      ['eabihf-any-any-arm', 'armhf'],
      ['kfreebsd-any linux-any', 'amd64'],
      ['hurd-any', 'hurd-amd64'],
      ['linux-amd64', 'amd64'],
    ];
    const no: Array<[string, string]> = [
      ['hurd-any', 'amd64'],
      ['any-amd64', 'arm64'],
      ['i386', 'amd64'],
      ['kfreebsd-any', 'amd64'],
      ['any-arm', 'arm64'],
      ['musl-any-any', 'amd64'],
      ['', 'amd64'],
      ['linux-arm64', 'amd64'],
      ['eabi-any-any-arm', 'armhf'],
    ];
    for (const [w, a] of yes) expect(appliesTo(w, a), `${w} on ${a}`).toBe(true);
    for (const [w, a] of no) expect(appliesTo(w, a), `${w} on ${a}`).toBe(false);
    expect(archMatches('x-y-z-w-v', 'amd64')).toBe(false);
  });

  it('agrees with dpkg-architecture -i on a sample', () => {
    const pairs: Array<[string, string]> = [
      ['linux-amd64', 'amd64'],
      ['linux-arm64', 'amd64'],
      ['linux-any', 'armhf'],
      ['any-arm', 'armel'],
      ['any-amd64', 'hurd-amd64'],
      ['gnu-any-any', 'hurd-i386'],
      ['any-i386', 'amd64'],
    ];
    for (const [w, a] of pairs) {
      let dpkg: boolean;
      try {
        execFileSync('dpkg-architecture', ['-a', a, '-i', w], { stdio: 'ignore', env: { ...process.env, DEB_HOST_ARCH: a } });
        dpkg = true;
      } catch {
        dpkg = false;
      }
      expect(appliesTo(w, a), `${w} on ${a}`).toBe(dpkg);
    }
  });
});

describe('versions and names', () => {
  it('compares like dpkg --compare-versions', () => {
    const ordered = ['1.0~rc1', '1.0', '1.0-1', '1.0-1+b1', '1.0.1', '1.1~~', '1.1~', '1.1', '1.10', '1:0.1', '2:0'];
    for (let i = 0; i + 1 < ordered.length; i++) expect(compareVersions(ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBeLessThan(0);
    expect(compareVersions('1.0-1', '1.0-01')).toBe(0);
    expect(compareVersions('1.0a', '1.0+')).toBeLessThan(0);
    for (const [a, b] of [
      ['1.2.3-4', '1.2.3-10'],
      ['0.9', '0.10~x'],
      ['1.0+dfsg', '1.0.1'],
    ]) {
      const dpkgLess = (() => {
        try {
          execFileSync('dpkg', ['--compare-versions', a!, 'lt', b!]);
          return true;
        } catch {
          return false;
        }
      })();
      expect(compareVersions(a!, b!) < 0).toBe(dpkgLess);
    }
  });

  it('validates names and versions against policy, refusing hostile ones', () => {
    for (const ok of ['hello', 'libc6', 'g++-12', 'x11-utils', 'a0']) expect(isValidSourceName(ok), ok).toBe(true);
    for (const bad of ['a', 'Hello', '../etc', 'a/b', 'foo bar', 'x;rm -rf', '$(id)', '-foo', '.hidden', 'a\nb', ''])
      expect(isValidSourceName(bad), bad).toBe(false);
    expect(sourceNameProblem('a/b')).toMatch(/path separator/);
    for (const ok of ['1.0', '1.0-1', '2:1.0-1+deb12u1', '1.0~rc1-0.1', '20240101']) expect(isValidVersion(ok), ok).toBe(true);
    for (const bad of ['', 'a1.0', '1.0 1', '1.0/../x', '1.0;id', '1.0-', ':1.0', '1.0-1-$x', '1:2:3']) expect(isValidVersion(bad), bad).toBe(false);
  });
});

describe('deb822', () => {
  it('parses stanzas across chunk boundaries, continuation lines, CRLF and comments', () => {
    const text = 'Package: a\r\nVersion: 1\nFiles:\n abc 1 a.dsc\n def 2 a.tar.xz\n\n\n# comment\npackage: b\nVersion: 2\n';
    const out: Stanza[] = [];
    const p = new Deb822Parser((s) => out.push(s));
    for (let i = 0; i < text.length; i += 3) p.push(Buffer.from(text.slice(i, i + 3)));
    p.end();
    expect(out.map((s) => [s.line, field(s, 'Package'), field(s, 'version')])).toEqual([
      [1, 'a', '1'],
      [9, 'b', '2'],
    ]);
    expect(field(out[0]!, 'Files')).toBe('\nabc 1 a.dsc\ndef 2 a.tar.xz');
  });

  it('reports a malformed stanza with its line number and goes on', () => {
    const problems: Deb822Problem[] = [];
    const out = parseDeb822Text('Package: a\n\nPackage: b\nthis is garbage\nVersion: 1\n\n continuation first\n\nPackage: c\nPackage: c\n\nPackage: d\n', (p) =>
      problems.push(p),
    );
    expect(out.map((s) => field(s, 'Package'))).toEqual(['a', 'd']);
    expect(problems).toEqual([
      { line: 4, message: 'not a "Field: value" line: "this is garbage"; stanza skipped' },
      { line: 7, message: 'continuation line without a field before it; stanza skipped' },
      { line: 10, message: 'field Package given twice; stanza skipped' },
    ]);
  });
});
