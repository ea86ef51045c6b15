/**
 * State that looks wrong must not pass silently: a 0-byte reproducible.db
 * beside a farm's existing node-information, results or work orders (a
 * truncated copy, a full disk, a botched restore) would otherwise be
 * initialised as an empty farm without a word. A brand-new state_dir still
 * starts fresh. Real parts: the installed CLI and real SQLite files.
 */
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../db/index.js';
import { runCli } from '../helpers/cli.js';

function farmDir(): { dir: string; config: string; stateDir: string; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reprofarm-state-'));
  const config = join(dir, 'reprofarm.yaml');
  writeFileSync(
    config,
    [
      'state_dir: ./state',
      'site_dir: ./public',
      'suites: [bookworm]',
      'architectures: [amd64]',
      'nodes:',
      '  node-a: { transport: local, workdir: ./state/nodes/node-a }',
      '  node-b: { transport: local, workdir: ./state/nodes/node-b }',
      'jobs:',
      '  reproducible_build_1: { nodes: [node-a, node-b] }',
      '',
    ].join('\n'),
  );
  const stateDir = join(dir, 'state');
  return { dir, config, stateDir, dbPath: join(stateDir, 'reproducible.db') };
}

describe('a 0-byte reproducible.db beside existing state', () => {
  const cases: [string, (stateDir: string) => void][] = [
    [
      'node-information',
      (s) => {
        mkdirSync(join(s, 'node-information'), { recursive: true });
        writeFileSync(join(s, 'node-information', 'node-a'), 'ARCH=amd64\nHOSTNAME=node-a\n');
      },
    ],
    [
      'results',
      (s) => {
        mkdirSync(join(s, 'results', 'node-a', 'bookworm', 'amd64', 'hello', '2.10-3'), { recursive: true });
        writeFileSync(join(s, 'results', 'node-a', 'bookworm', 'amd64', 'hello', '2.10-3', 'build.log'), 'built\n');
      },
    ],
    [
      'builds',
      (s) => {
        mkdirSync(join(s, 'builds', 'node-a', 'bookworm', 'amd64', 'hello'), { recursive: true });
        writeFileSync(join(s, 'builds', 'node-a', 'bookworm', 'amd64', 'hello', '2.10-3'), 'SOURCE=hello\n');
      },
    ],
  ];
  for (const [what, make] of cases) {
    it(`a truncated (0-byte) reproducible.db beside existing ${what}/ is refused, not started as an empty farm`, async () => {
      const f = farmDir();
      make(f.stateDir);
      writeFileSync(f.dbPath, '');
      for (const cmd of [['status'], ['site']]) {
        const r = await runCli(['--config', f.config, ...cmd]);
        expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(1);
        // what is wrong, where, and what to do
        expect(r.stderr).toContain(f.dbPath);
        expect(r.stderr).toMatch(/is empty \(0 bytes\)/);
        expect(r.stderr).toContain(`${what}/`);
        expect(r.stderr).toContain('reprofarm backup');
        expect(r.stderr).toMatch(/move .* aside/);
      }
      // nothing was written into it: the next run refuses it too
      expect(statSync(f.dbPath).size).toBe(0);
      expect(() => openDb(f.dbPath)).toThrow(/is empty \(0 bytes\)/);
      expect(() => openDb(f.dbPath, { readonly: true })).toThrow(/is empty \(0 bytes\)/);
      expect(statSync(f.dbPath).size).toBe(0);
    });
  }

  it('a brand-new state_dir still starts fresh: missing, with only an empty DB file, or with empty folders', async () => {
    // missing
    const a = farmDir();
    const ra = await runCli(['--config', a.config, 'status']);
    expect(ra.code, ra.stderr).toBe(0);
    expect(statSync(a.dbPath).size).toBeGreaterThan(0);
    // only an empty DB file (touched by a provisioning script)
    const b = farmDir();
    mkdirSync(b.stateDir, { recursive: true });
    writeFileSync(b.dbPath, '');
    const rb = await runCli(['--config', b.config, 'status']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(statSync(b.dbPath).size).toBeGreaterThan(0);
    // an empty DB file and the folders, empty (made ahead by a deployment)
    const c = farmDir();
    for (const d of ['node-information', 'results', 'builds', 'reports']) mkdirSync(join(c.stateDir, d), { recursive: true });
    writeFileSync(c.dbPath, '');
    const rc = await runCli(['--config', c.config, 'site']);
    expect(rc.code, rc.stderr).toBe(0);
    // and a farm with a real DB beside its state opens as ever
    mkdirSync(join(c.stateDir, 'node-information'), { recursive: true });
    writeFileSync(join(c.stateDir, 'node-information', 'node-a'), 'ARCH=amd64\n');
    const db = openDb(c.dbPath);
    expect(db.schemaVersion()).toBeGreaterThan(0);
    db.close();
  });
});
