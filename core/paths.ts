import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReprofarmError } from './errors.js';

/**
 * reprofarm's own files (info.sh, node-build.sh, the templates) are not where
 * the code expects them: a partial copy of dist/ or the bundle without the
 * checkout beside it.
 */
export class InstallationError extends ReprofarmError {
  override name = 'InstallationError';
  constructor(message: string) {
    super(message, {
      advice:
        'run reprofarm from its checkout (bin/reprofarm.js, or npx reprofarm there), where package.json and collector/info.sh are; npm ci there rebuilds dist/',
    });
  }
}

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
  throw new InstallationError(`cannot find reprofarm's files above ${fileURLToPath(import.meta.url)}`);
}

/** Files on the main node under state_dir. */
export function nodeInformationFile(stateDir: string, node: string): string {
  return join(stateDir, 'node-information', node);
}

export function dbFile(stateDir: string): string {
  return join(stateDir, 'reproducible.db');
}
