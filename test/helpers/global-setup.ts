import { spawnSync } from 'node:child_process';

/**
 * The CLI tests run bin/reprofarm.js as users do, which runs the bundle in
 * dist/: build it once, fresh, before any test (tsc, then the bundle). Only
 * they need it: every other test, site renders on worker threads included
 * (site/worker-pool.ts), runs from source.
 */
export default function setup(): void {
  const r = spawnSync('npm', ['run', '--silent', 'build'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}
