/**
 * `serve` against symlinks planted in site_dir: only what really resolves
 * inside site_dir (and outside its dotfolders) is served. Real parts: a real
 * render through the installed CLI, real HTTP requests to the server.
 */
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSite, type ServeHandle } from '../../site/serve.js';
import { createSiteFixture, type SiteFixture } from '../harness/site-fixture.js';
import { runCli } from '../helpers/cli.js';

describe('serve and symlinks planted in site_dir', () => {
  let f: SiteFixture;
  let h: ServeHandle;
  beforeAll(async () => {
    f = createSiteFixture({ suites: ['bookworm'], arches: ['amd64'] });
    const r = await runCli(['--config', f.config, 'site']);
    expect(r.code, r.stderr).toBe(0);
    // what someone (or something) with write access to site_dir could leave there
    symlinkSync('/etc/passwd', join(f.siteDir, 'passwd.html'));
    symlinkSync('/etc/passwd', join(f.siteDir, 'static', 'passwd.txt'));
    symlinkSync('/etc', join(f.siteDir, 'etc'));
    symlinkSync(join(f.stateDir, 'reproducible.db'), join(f.siteDir, 'farm.json'));
    symlinkSync('../state/node-information', join(f.siteDir, 'info'));
    // a symlink inside site_dir to the builder's own dotfolder
    symlinkSync('.reprofarm/state.json', join(f.siteDir, 'state.json'));
    // a symlink that stays inside site_dir (and not into a dotfolder) is served
    symlinkSync('index.html', join(f.siteDir, 'home.html'));
    // ... and one to a diffoscope report under another name keeps the report's sandbox
    const reports = join(f.siteDir, 'dbd', 'bookworm', 'amd64', f.ftbrPackage);
    const report = readdirSync(reports).find((e) => e.endsWith('.diffoscope.html')) ?? '';
    symlinkSync(join('dbd', 'bookworm', 'amd64', f.ftbrPackage, report), join(f.siteDir, 'report.html'));
    h = await serveSite(f.siteDir, 0);
  });
  afterAll(async () => {
    await h.close();
  });

  it('a symlink in site_dir pointing at /etc/passwd is not served', async () => {
    for (const p of ['passwd.html', 'static/passwd.txt']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await fetch(`${h.url}${p}`, { method });
        const body = await r.text();
        expect(r.status, `${method} ${p}`).toBe(404);
        expect(body).not.toContain('root:');
      }
    }
  });

  it('a symlinked folder in site_dir pointing outside it (at /etc, at state_dir) serves nothing', async () => {
    for (const p of ['etc/passwd', 'etc/hostname', 'etc/', 'etc', 'info/node-a', 'farm.json']) {
      const r = await fetch(`${h.url}${p}`, { redirect: 'manual' });
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('root:');
    }
  });

  it('a symlink in site_dir pointing into its dotfolder .reprofarm is not served', async () => {
    const r = await fetch(`${h.url}state.json`);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('"templates"');
  });

  it('a symlink that stays inside site_dir is still served, and the real pages are', async () => {
    const home = await fetch(`${h.url}home.html`);
    expect(home.status).toBe(200);
    expect(await home.text()).toBe(readFileSync(join(f.siteDir, 'index.html'), 'utf8'));
    expect((await fetch(`${h.url}rb-pkg/bookworm/amd64/${f.ftbrPackage}.html`)).status).toBe(200);
    expect((await fetch(`${h.url}static/style.css`)).status).toBe(200);
    const report = await fetch(`${h.url}report.html`);
    expect(report.status).toBe(200);
    expect(report.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
  });
});
