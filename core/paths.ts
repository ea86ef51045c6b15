import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The installed project's root (where package.json is), from source (tsx) or from dist/. */
export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'collector', 'info.sh'))) {
      root = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find reprofarm's files above ${fileURLToPath(import.meta.url)}`);
}

/** Files on the main node under state_dir. */
export function nodeInformationFile(stateDir: string, node: string): string {
  return join(stateDir, 'node-information', node);
}

export function dbFile(stateDir: string): string {
  return join(stateDir, 'reproducible.db');
}
