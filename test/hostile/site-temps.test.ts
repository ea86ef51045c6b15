/**
 * What a render that failed or was killed leaves in site_dir/.reprofarm:
 * its tmp-PID-N folder with partial files, removed at the next render once
 * that PID is gone, never while it is alive. Real parts: real renders
 * through the installed CLI, real processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { runCli } from '../helpers/cli.js';

describe('the temporary folders of a render that died', () => {
  let f: SiteFixture;
  let live: ChildProcess;
  beforeAll(async () => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    const r = await runCli(['--config', f.config, 'site']);
    expect(r.code, r.stderr).toBe(0);
    live = spawn('sleep', ['120'], { stdio: 'ignore' });
  });
  afterAll(() => {
    live.kill();
  });

  it("a killed render's .reprofarm/tmp-PID-N folder with partial files is removed at the next render; a live process's is kept", async () => {
    // a process that has exited: its PID is no longer alive
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    expect(Number.isInteger(deadPid) && deadPid > 0).toBe(true);
    const state = join(f.siteDir, '.reprofarm');
    const dead = [join(state, `tmp-${deadPid}-0`), join(state, `tmp-${deadPid}-3`)];
    for (const d of dead) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, '17'), '<!DOCTYPE html><html><body><p>half a pa');
    }
    const livePid = live.pid ?? 0;
    expect(livePid).toBeGreaterThan(0);
    const kept = join(state, `tmp-${livePid}-1`);
    mkdirSync(kept, { recursive: true });
    writeFileSync(join(kept, '0'), 'being written');
    // not ours: names that are not tmp-PID-N are left alone
    const other = join(state, 'tmp-notapid-0');
    mkdirSync(other, { recursive: true });

    const r = await runCli(['--config', f.config, 'site']);
    expect(r.code, r.stderr).toBe(0);
    for (const d of dead) expect(existsSync(d), d).toBe(false);
    expect(readFileSync(join(kept, '0'), 'utf8')).toBe('being written');
    expect(existsSync(other)).toBe(true);
  });
});
