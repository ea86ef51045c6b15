import { spawnSync } from 'node:child_process';

/** CLI tests run bin/reprofarm.js, which runs the bundle in dist/: build it once, fresh, before any test (tsc, then the bundle). */
export default function setup(): void {
  const r = spawnSync('npm', ['run', '--silent', 'build'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}
