import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../core/config.js';
import { openDb } from '../../db/index.js';
import { farmFacts } from '../../notify/outbox.js';

const NODES = 'nodes:\n  l1: { transport: local }\n';

function parse(yaml: string, base: string): ReturnType<typeof parseConfig> {
  return parseConfig(`${NODES}${yaml}`, 'test.yaml', base, null);
}

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rf-sets-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('package_sets', () => {
  it('is empty when not given', () => {
    const r = parse('', '/etc/reprofarm');
    expect(r.errors).toEqual([]);
    expect(r.config!.packageSets.size).toBe(0);
  });

  it('reads a list, and a file relative to the config with comments and blank lines', () => {
    const dir = dirWith({ 'base.txt': '# the base set\nbash\n\n  coreutils   # essential\r\ndpkg\n' });
    const r = parse('package_sets:\n  web: [nginx, apache2]\n  base: ./base.txt\n', dir);
    expect(r.errors).toEqual([]);
    const sets = r.config!.packageSets;
    expect([...sets.keys()]).toEqual(['web', 'base']);
    expect([...sets.get('web')!]).toEqual(['nginx', 'apache2']);
    expect([...sets.get('base')!]).toEqual(['bash', 'coreutils', 'dpkg']);
  });

  it('names the file and the line of a bad or repeated name in a file', () => {
    const dir = dirWith({ 'web.txt': 'nginx\n# ok\nFoo\nnginx\n' });
    const errors = parse('package_sets:\n  web: web.txt\n', dir).errors;
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^package_sets\.web: "web\.txt" line 3: "Foo" is not a source package name; write one source package name per line/);
    expect(errors[1]).toBe('package_sets.web: "web.txt" line 4: "nginx" is listed twice');
  });

  it('refuses a missing file, a directory, and bad names or duplicates in a list', () => {
    const dir = dirWith({});
    mkdirSync(join(dir, 'sub'));
    const errors = parse('package_sets:\n  a: ./nope.txt\n  b: ./sub\n  c: [bash, Bash, bash]\n  d: 3\n', dir).errors;
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(/^package_sets\.a: "\.\/nope\.txt" cannot be read \(.*ENOENT.*\); give an existing file/);
    expect(errors[1]).toMatch(/^package_sets\.b: "\.\/sub" is not a regular file/);
    expect(errors[2]).toBe('package_sets.c[1]: string "Bash" is not a source package name');
    expect(errors[3]).toBe('package_sets.c[2]: "bash" is listed twice');
    expect(errors[4]).toMatch(/^package_sets\.d: must be a list of source package names or the path of a file of them, got number 3/);
  });

  it('refuses a bad set name and a value that is no mapping', () => {
    expect(parse('package_sets:\n  -web: [bash]\n', '/x').errors).toEqual([
      'package_sets.-web: set names may use letters, digits, ".", "_" and "-" (not first), at most 63 characters',
    ]);
    expect(parse('package_sets: [bash]\n', '/x').errors[0]).toMatch(/^package_sets: must be a mapping like/);
  });

  it("farmFacts' sets() answers from the configuration's sets, sorted", () => {
    const r = parse('package_sets:\n  web: [nginx, apache2]\n  all: [nginx, bash]\n', '/x');
    const db = openDb(join(mkdtempSync(join(tmpdir(), 'rf-sets-db-')), 'r.db'));
    try {
      const facts = farmFacts(db, r.config!.packageSets);
      expect(facts.sets('nginx')).toEqual(['all', 'web']);
      expect(facts.sets('bash')).toEqual(['all']);
      expect(facts.sets('dpkg')).toEqual([]);
    } finally {
      db.close();
    }
  });
});

describe('sets filters', () => {
  it('refuse a set that package_sets does not configure', () => {
    const yaml =
      'package_sets:\n  web: [nginx]\nnotify:\n  webhooks: [{ url: "http://127.0.0.1:9/h", secret_file: ./s, sets: [web, wbe] }]\n  mail: { sets: [web, base] }\n';
    expect(parse(yaml, '/x').errors).toEqual([
      'notify.webhooks[0].sets[1]: "wbe" is not a configured package set (package_sets: web)',
      'notify.mail.sets[1]: "base" is not a configured package set (package_sets: web)',
    ]);
    expect(parse('notify: { mail: { sets: [web] } }\n', '/x').errors).toEqual([
      'notify.mail.sets[0]: "web" is not a configured package set (no package_sets are configured)',
    ]);
  });
});
