/** reprofarm cleanup prunes old result directories (not current results, not packages being built) and node-information of nodes gone from the configuration. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../db/index.js';
import { runCli } from '../helpers/cli.js';

describe('reprofarm cleanup: pruning on the main node', () => {
  it('removes old unreferenced results and node-information of removed nodes, keeps the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-prune-'));
    const cfg = join(dir, 'reprofarm.yaml');
    writeFileSync(cfg, 'state_dir: ./state\nnodes:\n  local1: { transport: local }\n  local2: { transport: local }\ncleanup: { results_retention_days: 30 }\n');
    const state = join(dir, 'state');
    const db = openDb(join(state, 'reproducible.db'));
    const now = new Date().toISOString();
    db.sql
      .prepare(
        `INSERT INTO results (suite, arch, package, version, status, build_date, node1, node2, job)
      VALUES ('bookworm', 'amd64', 'foo', '2.0', 'reproducible', ?, 'local1', 'local2', 'j')`,
      )
      .run(now);
    // baz is being built by an orchestrator on another main node right now
    db.sql
      .prepare(
        `INSERT INTO schedule (suite, arch, package, version, priority, reason, scheduled_by, scheduled_at, claimed_by, claimed_at, claim_host, claim_pid)
      VALUES ('bookworm', 'amd64', 'baz', '1.0', 10, 'new', 'test', ?, 'j', ?, 'elsewhere', 1)`,
      )
      .run(now, now);
    db.close();
    const old = new Date(Date.now() - 40 * 86400_000);
    const results = join(state, 'results');
    const mk = (rel: string, age: Date | null): string => {
      const d = join(results, rel);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'status'), 'RESULT=built\n');
      if (age) utimesSync(d, age, age);
      return d;
    };
    const oldVersion = mk('local1/bookworm/amd64/foo/1.0', old);
    const current1 = mk('local1/bookworm/amd64/foo/2.0', old);
    const current2 = mk('local2/bookworm/amd64/foo/2.0', old);
    const recent = mk('local1/bookworm/amd64/bar/1.0', null);
    const building = mk('local2/bookworm/amd64/baz/0.9', old);
    mk('gone/bookworm/amd64/foo/1.0', old);
    const info = join(state, 'node-information');
    mkdirSync(info, { recursive: true });
    for (const f of ['local1', 'local2', 'gone', '.gone.tmp-1-abc']) writeFileSync(join(info, f), 'ARCH=amd64\n');

    const r = await runCli(['--config', cfg, '--json', 'cleanup']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      pruned_results: string[];
      kept_current_results: number;
      pruned_node_information: string[];
      requeued: number;
      running: number;
    };
    expect(out.pruned_results.sort()).toEqual(['results/gone/bookworm/amd64/foo/1.0', 'results/local1/bookworm/amd64/foo/1.0']);
    expect(out.kept_current_results).toBe(2);
    expect(out.pruned_node_information).toEqual(['gone']);
    expect(out).toMatchObject({ requeued: 0, running: 1 });
    expect(r.stderr).toMatch(/Pruned 2 result directories older than 30 days \(kept 2 of current results\) and 1 node-information file/);
    expect(existsSync(oldVersion)).toBe(false);
    for (const d of [current1, current2, recent, building]) expect(existsSync(d), d).toBe(true);
    // the removed node's empty directories went with it
    expect(readdirSync(results).sort()).toEqual(['local1', 'local2']);
    expect(readdirSync(info).sort()).toEqual(['.gone.tmp-1-abc', 'local1', 'local2']);

    // a longer retention keeps everything
    writeFileSync(cfg, 'state_dir: ./state\nnodes:\n  local1: { transport: local }\n  local2: { transport: local }\ncleanup: { results_retention_days: 60 }\n');
    mk('local1/bookworm/amd64/foo/1.5', old);
    const again = await runCli(['--config', cfg, '--json', 'cleanup']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ pruned_results: [], pruned_node_information: [] });
    expect(existsSync(join(results, 'local1/bookworm/amd64/foo/1.5'))).toBe(true);
  });
});
