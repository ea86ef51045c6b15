/**
 * `npm run bench [-- NAME...]`: run every benchmark module in turn, or only the
 * named ones. A module exports `run(): Promise<void>`, prints its own figures,
 * and throws when a correctness check fails (a missed performance goal only
 * prints MISS). Exit code: 0 when every selected benchmark ran its checks
 * successfully, 1 when one failed, 64 for an unknown name.
 */
interface BenchModule {
  run(): Promise<void>;
}

const BENCHMARKS: ReadonlyArray<{ name: string; summary: string; load: () => Promise<BenchModule> }> = [
  { name: 'collect', summary: 'reprofarm collect vs a sequential ssh loop vs parallel-ssh, 32 loopback nodes', load: () => import('./collect.js') },
  { name: 'sync', summary: 'reprofarm sync of a real bookworm Sources index (~35k sources), 4 architectures, signed mirror', load: () => import('./sync.js') },
  {
    name: 'build',
    summary: 'orchestration overhead of one build pair over loopback sshd, trivial backend, 1 KiB / 1 MiB / 100 MiB artifacts',
    load: () => import('./build.js'),
  },
  {
    name: 'chroot',
    summary: 'the chroot backend on the real mirror: making a chroot; a hello pair by reprofarm vs the same by hand vs sbuild --chroot-mode=unshare',
    load: () => import('./chroot.js'),
  },
  {
    name: 'culprit',
    summary: 'culprit verdicts of the probe set (a package per variation): extra builds vs reprotest --auto-build, hint time vs diffoscope',
    load: () => import('./culprit.js'),
  },
  { name: 'claims', summary: '150 (and 16) processes claiming and recording against one reproducible.db', load: () => import('./claims.js') },
  {
    name: 'site',
    summary: 'reprofarm site on a Debian-scale DB (real names and versions, 3 suites x 4 arches, a year of history): full, incremental, 1 x 1',
    load: () => import('./site.js'),
  },
];

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: npm run bench [-- NAME...]\n\nbenchmarks:');
    for (const b of BENCHMARKS) console.log(`  ${b.name.padEnd(10)} ${b.summary}`);
    return 0;
  }
  const unknown = argv.filter((a) => !BENCHMARKS.some((b) => b.name === a));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    return 64;
  }
  const selected = argv.length > 0 ? BENCHMARKS.filter((b) => argv.includes(b.name)) : BENCHMARKS;
  (await import('./lib.js')).scrubNodeStartupEnv();
  const failed: string[] = [];
  for (const b of selected) {
    const t0 = performance.now();
    try {
      const mod = await b.load();
      await mod.run();
      console.log(`\n[${b.name}] done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failed.push(b.name);
      // a failed check explains itself; anything else gets its stack
      const text = err instanceof Error ? (err.name === 'CheckFailed' ? err.message : (err.stack ?? err.message)) : String(err);
      console.error(`\n[${b.name}] FAILED: ${text}\n`);
    }
  }
  if (failed.length > 0) console.error(`failed benchmarks: ${failed.join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
