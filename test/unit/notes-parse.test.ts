import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNotes } from '../../notes/parse.js';

function checkout(packages: string, issues: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'notes-'));
  writeFileSync(join(dir, 'packages.yml'), packages);
  writeFileSync(join(dir, 'issues.yml'), issues);
  return dir;
}

const ISSUES = 'timestamps_in_gzip_headers:\n  description: |\n    gzip stores a time\n  url: https://example.org/x\n';

describe('readNotes', () => {
  it('reads the real layout: multi-line comments, bugs as ints', () => {
    const dir = checkout(
      'zlib:\n  version: 1:1.2.13-1\n  issues:\n  - timestamps_in_gzip_headers\n  bugs:\n  - 123456\n  comments: |\n    line one\n    <script>x</script>\n',
      ISSUES,
    );
    const { notes, problems } = readNotes(dir);
    expect(problems).toEqual([]);
    expect(notes.packages).toEqual([
      {
        package: 'zlib',
        version: '1:1.2.13-1',
        issues: ['timestamps_in_gzip_headers'],
        bugs: [123456],
        comments: 'line one\n<script>x</script>\n',
      },
    ]);
    expect(notes.issues[0]?.url).toBe('https://example.org/x');
  });

  it('names the file and line of a YAML syntax error', () => {
    const { problems } = readNotes(checkout('a1:\n  version: 1\n  issues: [x\n', ISSUES));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.file).toBe('packages.yml');
    expect(problems[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('names the line of semantic errors: unknown key, missing issue, bad bug, bad name', () => {
    const pk =
      'ok1:\n  version: 1.0\n  issues:\n  - nope\n' + // line 3: issues
      'ok2:\n  colour: red\n' + // line 6
      'ok3:\n  bugs:\n  - abc\n' + // line 8
      '../evil:\n  comments: x\n'; // line 10
    const { problems } = readNotes(checkout(pk, ISSUES));
    const got = problems.map((p) => [p.file, p.line, p.message]);
    expect(got).toEqual([
      ['packages.yml', 3, 'ok1: issue "nope" is not in issues.yml'],
      ['packages.yml', 6, 'ok2: unknown key "colour"'],
      ['packages.yml', 8, 'ok3: bugs must be a list of bug numbers'],
      ['packages.yml', 10, '../evil: not a valid Debian source package name'],
    ]);
  });

  it('refuses a non-http url and a bad issue name', () => {
    const { problems } = readNotes(checkout('', 'a/b:\n  description: d\nx_y:\n  url: javascript:alert(1)\n'));
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [1, 'a/b: not a valid issue name (a-z, 0-9, _ . + -)'],
      [4, 'x_y: url must be an http(s) URL'],
    ]);
  });
});
