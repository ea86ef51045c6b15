// Bundle the CLI (and the site render's worker thread) into dist/bundle/ (run by `npm run build` and
// the prepare script, after tsc): bin/reprofarm.js loads these few files instead of some
// forty modules, which is most of what a short command like `collect` spends
// before its first connection. Only the installed CLI runs from here: source
// code never loads dist/ (from source, site/worker-pool.ts starts its worker
// threads on the .ts entry through tsx).
//
// Our code and the pure-JS dependencies (js-yaml, p-limit) are bundled; ssh2
// and better-sqlite3 stay in node_modules (native add-ons, loaded from there by
// Node's own require). Each command's modules stay a separate chunk, loaded
// only when that command runs, as cli/main.ts's dynamic imports intend.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

/**
 * CommonJS packages kept external are loaded with require (createRequire), not
 * `import`: importing CommonJS from ESM makes Node scan the package's source
 * for its export names first (cjs-module-lexer), which costs start-up time and
 * gives nothing here (only the default export is used).
 */
const requireExternals = {
  name: 'require-externals',
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3$/ }, (args) => ({ path: args.path, namespace: 'require-external' }));
    b.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({
      contents: `import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)(${JSON.stringify(args.path)});\n`,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // the site render's worker threads load their own entries, sharing chunks with the CLI's; entries and
  // chunks stay in one folder: site/worker-pool.ts finds package-worker.js beside its own chunk
  entryPoints: { main: 'cli/main.ts', 'package-worker': 'site/package-worker.ts', 'compose-worker': 'site/compose-worker.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // ssh2 is loaded through createRequire in core/ssh-transport.ts; listed so nothing pulls it in
  external: ['ssh2', 'ssh2/*'],
  plugins: [requireExternals],
  chunkNames: 'chunk-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
