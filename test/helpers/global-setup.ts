import { spawnSync } from 'node:child_process';

/** CLI tests run bin/reprofarm.js, which runs dist/: compile it once, fresh, before any test. */
export default function setup(): void {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}
