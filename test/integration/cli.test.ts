/** The CLI as users run it: usage errors, configuration errors, the embedded default. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

function newDir(): string {
  return mkdtempSync(join(tmpdir(), 'rf-cli-'));
}

describe('reprofarm CLI', () => {
  it('prints help with the options and their defaults', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/collect +run the info script/);
    const c = await runCli(['collect', '--help']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/--concurrency N .*default: collect\.concurrency, 16/);
    expect(c.stdout).toMatch(/--timeout SEC .*default: collect\.timeout, 30/);
    // every command's --help: every option (its own and the global ones) says its default
    const { COMMANDS } = await import('../../cli/args.js');
    for (const cmd of COMMANDS) {
      const h = await runCli([cmd.name, '--help']);
      expect(h.code, cmd.name).toBe(0);
      const lines = h.stdout.split('\n').filter((l) => /^\s+(-\w, )?--/.test(l));
      expect(lines.length, cmd.name).toBeGreaterThanOrEqual(Object.keys(cmd.options).length + 5);
      for (const l of lines) expect(l, `${cmd.name}: ${l}`).toMatch(/default|required/);
    }
    for (const cmd of ['site', 'serve', 'worker', 'jobs', 'node-setup', 'backup']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} +\\S`, 'm'));
  });

  it('usage errors exit 64 with a suggestion', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /usage: reprofarm/],
      [['colect'], /unknown command "colect"; did you mean "collect"\?/],
      [['collect', '--concurency', '3'], /Unknown option '--concurency'; did you mean --concurrency\?/],
      [['collect', '--concurrency', 'many'], /--concurrency many: must be a positive integer/],
      [['collect', '--timeout', '-1'], /--timeout/],
      // beyond collect.timeout's bound (Node's timers would overflow past 24.8 days and fire at once)
      [['collect', '--timeout', '3000000'], /--timeout 3000000: must be at most 86400/],
      [['collect', '--concurrency', '5000'], /--concurrency 5000: must be at most 1024/],
      [['collect', 'no-such-node'], /unknown node "no-such-node"/],
      [['site', '--ful'], /Unknown option '--ful'; did you mean --full\?/],
      [['serve', '--port', 'http'], /--port http: must be a port number/],
      [['wroker'], /unknown command "wroker"; did you mean "worker"\?/],
    ];
    const cwd = newDir();
    for (const [args, re] of cases) {
      const r = await runCli(args, { cwd });
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });

  it('a bad configuration: every problem with its key path, exit 1, nothing connected', async () => {
    const dir = newDir();
    writeFileSync(join(dir, 'reprofarm.yaml'), 'nodes:\n  a: { host: 127.0.0.1, port: nope, user: rbuild, identity_file: k }\ncolect: {}\n');
    const r = await runCli(['collect'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/reprofarm\.yaml: 2 configuration problems:/);
    expect(r.stderr).toMatch(/nodes\.a\.port: must be an integer, got string "nope"/);
    expect(r.stderr).toMatch(/colect: unknown key \(did you mean "collect"\?\)/);
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  it('REPROFARM_CONFIG names the file; a missing one is a clear error', async () => {
    const r = await runCli(['collect'], { cwd: newDir(), env: { REPROFARM_CONFIG: '/nonexistent/rf.yaml' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read configuration \/nonexistent\/rf\.yaml/);
    expect(r.stderr).toMatch(/hint: check \$REPROFARM_CONFIG/);
  });

  it('collects the embedded default (two local nodes) without any configuration', async () => {
    const dir = newDir();
    const r = await runCli(['--json', 'collect'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { collected: number; nodes: Array<{ node: string; facts: Record<string, string> }> };
    expect(out.collected).toBe(2);
    expect(out.nodes.map((n) => n.node).sort()).toEqual(['local1', 'local2']);
    for (const n of ['local1', 'local2']) {
      const text = readFileSync(join(dir, 'state', 'node-information', n), 'utf8');
      expect(text).toMatch(new RegExp(`^WORKDIR=${join(dir, 'state', 'nodes', n)}$`, 'm'));
      expect(text).toMatch(/^ARCH=\S+$/m);
    }
    expect(existsSync(join(dir, 'state', 'reproducible.db'))).toBe(true);
  });
});
