// Write docs/configuration.md's generated part (between its two markers) from
// the configuration schema, core/config/schema.ts: `npm run docs:config`, run
// under tsx. With --check, only say whether the file is up to date (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withConfigDoc } from '../core/config/doc.ts';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');
const before = readFileSync(file, 'utf8');
const after = withConfigDoc(before);
if (after === before) {
  console.error(`${file} is up to date`);
} else if (process.argv.includes('--check')) {
  console.error(`${file} is not what core/config/schema.ts generates: run npm run docs:config`);
  process.exitCode = 1;
} else {
  writeFileSync(file, after);
  console.error(`wrote ${file}`);
}
