/**
 * Build the dashboard of a small test farm (test/harness/site-fixture.ts) with
 * the installed CLI, with notes and maintainers (site-extras.ts), and serve it on 127.0.0.1; the tests find it in
 * $REPROFARM_E2E_URL. Fails, saying what to install, when Chromium is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveSite } from '../../site/serve.js';
import { addNotesAndMaintainers } from '../harness/site-extras.js';
import { createSiteFixture } from '../harness/site-fixture.js';

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync('/usr/bin/chromium')) {
    throw new Error(
      "the dashboard tests need Debian's Chromium at /usr/bin/chromium: run `apt-get install --no-install-recommends chromium` (scripts/install.sh does)",
    );
  }
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const f = createSiteFixture();
  const notes = addNotesAndMaintainers(f, f.ftbrPackage);
  const n = spawnSync(process.execPath, [join(root, 'bin', 'reprofarm.js'), '--config', f.config, 'notes', 'import', notes], { encoding: 'utf8' });
  if (n.status !== 0) throw new Error(`reprofarm notes import failed (exit ${n.status ?? n.signal}): ${n.stderr}`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'reprofarm.js'), '--config', f.config, 'site'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reprofarm site failed (exit ${r.status ?? r.signal}): ${r.stderr}\n(run npm run build first?)`);
  const h = await serveSite(f.siteDir, 0);
  process.env.REPROFARM_E2E_URL = h.url;
  process.env.REPROFARM_E2E_FTBR = f.ftbrPackage;
  return async () => {
    await h.close();
  };
}
