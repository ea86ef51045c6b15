/**
 * Control characters in what nodes and builds report (facts, health
 * reasons, build reasons): escaped for HTML is not enough, ESC, C0/C1
 * controls, line separators and bidi controls must be shown, not obeyed.
 * Real parts: a real reproducible.db, real renders through the installed CLI.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../db/index.js';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { runCli } from '../helpers/cli.js';

/** Every .html file under `dir`, but the builder's own bookkeeping. */
function htmlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.reprofarm') walk(p);
      } else if (e.name.endsWith('.html')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('control characters in node and build text reach no page raw', () => {
  // ESC (a terminal's escape sequences), the bidi override U+202E and isolate U+2066
  // (reorder what a line shows), the line separator U+2028, a C1 control (CSI, U+009B), NUL, DEL
  const HOSTILE = 'evil\u001b[31mred\u202etxt.exe\u2066x\u2069\u2028next\u009b2J\u0000\u007f end';
  // the controls looked for are the point of this pattern
  // eslint-disable-next-line no-control-regex
  const RAW = new RegExp('[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]');
  let f: SiteFixture;
  beforeAll(async () => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    const db = openDb(f.dbPath);
    // a node's newest collection reports hostile facts and a hostile health reason
    db.recordCollections([
      {
        node: 'node-b',
        startedAt: '2026-11-20T09:59:00.000Z',
        durationMs: 900,
        ok: true,
        health: 'degraded',
        reason: `load high ${HOSTILE}`,
        errorKind: null,
        clockOffsetS: 0,
        arch: 'amd64',
        facts: [
          ['ARCH', 'amd64'],
          ['CPU_MODEL', HOSTILE],
          ['HOSTNAME', `node-b${HOSTILE}`],
          ['KERNEL', 'Linux 6.1'],
          ['NUM_CPU', '16'],
        ],
      },
    ]);
    // a build's reason (from what a build printed)
    db.sql
      .prepare(`UPDATE builds SET reason = ? WHERE id = (SELECT build_id FROM results WHERE suite = 'bookworm' AND arch = 'amd64' AND package = ?)`)
      .run(`the .deb files differ ${HOSTILE}`, f.ftbrPackage);
    db.close();
    const r = await runCli(['--config', f.config, 'site']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('ESC, bidi controls (U+202E), line separators and C0/C1 controls in facts, reasons and health are shown as \\u escapes on every page', () => {
    const files = htmlFiles(f.siteDir);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const html = readFileSync(file, 'utf8');
      const m = RAW.exec(html);
      expect(m, `${relative(f.siteDir, file)} holds U+${m?.[0].charCodeAt(0).toString(16).padStart(4, '0') ?? ''} raw`).toBeNull();
    }
    const shown = 'evil\\u001b[31mred\\u202etxt.exe\\u2066x\\u2069\\u2028next\\u009b2J\\u0000\\u007f end';
    expect(readFileSync(join(f.siteDir, 'variations.html'), 'utf8')).toContain(shown);
    expect(readFileSync(join(f.siteDir, 'nodes.html'), 'utf8')).toContain(`load high ${shown}`);
    expect(readFileSync(join(f.siteDir, 'rb-pkg', 'bookworm', 'amd64', `${f.ftbrPackage}.html`), 'utf8')).toContain(`the .deb files differ ${shown}`);
  });

  it('the escaped pages are still a function of the DB: a second full render writes the same bytes', async () => {
    const cfg = join(f.dir, 'again.yaml');
    writeFileSync(cfg, readFileSync(f.config, 'utf8').replace('site_dir: ./public', 'site_dir: ./again'));
    const r = await runCli(['--config', cfg, 'site', '--full']);
    expect(r.code, r.stderr).toBe(0);
    for (const file of htmlFiles(f.siteDir)) {
      const rel = relative(f.siteDir, file);
      expect(readFileSync(join(f.dir, 'again', rel)).equals(readFileSync(file)), rel).toBe(true);
    }
  });

  it('pages an older reprofarm rendered with raw controls are rendered again by the next incremental render', async () => {
    // as the last render before this escaping left them: raw controls in the page, no rendering version in the state
    const page = join(f.siteDir, 'rb-pkg', 'bookworm', 'amd64', `${f.ftbrPackage}.html`);
    const escaped = readFileSync(page, 'utf8');
    writeFileSync(page, escaped.replace('\\u202e', '\u202e').replace('\\u001b', '\u001b'));
    expect(RAW.test(readFileSync(page, 'utf8'))).toBe(true);
    const stateFile = join(f.siteDir, '.reprofarm', 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    delete state.rendering;
    writeFileSync(stateFile, `${JSON.stringify(state)}\n`);
    const r = await runCli(['--config', f.config, '--json', 'site']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'full' });
    expect(readFileSync(page, 'utf8')).toBe(escaped);
  });
});
