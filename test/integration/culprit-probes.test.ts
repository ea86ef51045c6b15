/**
 * Issue 18, point 5: the culprit verdict of every probe package
 * (test/harness/probes.ts: one per variation, each capturing that variation
 * alone; one with two culprits; random bytes; a parallel count seen only
 * through arithmetic), real builds on real sshd nodes, on both backends.
 * Each probe is built as a pair; an FTBR gets its verdict from the hints
 * (no extra build) or, when they do not settle it, from `reprofarm culprit`
 * (the search, culprit.max_builds_per_package 16, the default). Either is
 * right when the culprits are. A variation a backend does not apply (its
 * NOT_APPLIED) varies nothing: that probe must be reproducible.
 *
 * The plain backend runs every probe. The chroot backend (the real bookworm
 * chroot shared per run, test/harness/debian-mirror.ts) runs a subset, to keep
 * CI's time in check (a chroot build takes 10-15 s here and a search up to
 * about 13 of them): the variations only a chroot applies (BUILD_USER, BINSH)
 * or applies its own way (KERNEL_PERSONALITY, NOCHECK, NICE, BUILD_PATH),
 * plus the two-culprit, random and arithmetic probes. On these nodes the
 * chroot backend cannot apply FILEORDERING (/dev/fuse is root's only), which
 * none of its subset captures. The two backends run side by side, each on
 * two nodes of its own, all in the set-up; each probe's test then checks
 * what it got, and the table of them all is printed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_KEYRING, debianMirror, hostArch, installSharedChroot, sharedChroot } from '../harness/debian-mirror.js';
import { createTestMirror, type MirrorServer, type TestMirror } from '../harness/mirror.js';
import { expectedVerdict, probe, probeName, PROBES, runProbe, verdictText, type Probe, type ProbeFarm, type ProbeOutcome } from '../harness/probes.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';
import { runCli } from '../helpers/cli.js';

const ARCH = hostArch();
const CHROOT_PROBES: readonly Probe[] = [
  ...['BUILD_USER', 'BINSH', 'KERNEL_PERSONALITY', 'NOCHECK', 'NICE', 'BUILD_PATH'].map((k) => probe(probeName(k))),
  ...['rfp-two', 'rfp-random', 'rfp-arithmetic'].map(probe),
];

/** What each backend cannot apply on these nodes: the plain one builds as the node's user with its /bin/sh, and neither mounts FUSE as a non-root user. */
const fuseForAll = (): boolean => ((statSync('/dev/fuse', { throwIfNoEntry: false })?.mode ?? 0) & 0o006) !== 0;
const NOT_APPLIED = {
  plain: new Set(['BUILD_USER', 'BINSH', 'FILEORDERING']),
  chroot: new Set(fuseForAll() ? [] : ['FILEORDERING']),
};

type Backend = 'plain' | 'chroot';
const RUNS: ReadonlyArray<{ backend: Backend; probes: readonly Probe[]; nodes: readonly [string, string] }> = [
  { backend: 'plain', probes: PROBES, nodes: ['n01', 'n02'] },
  { backend: 'chroot', probes: CHROOT_PROBES, nodes: ['n03', 'n04'] },
];

let mirror: TestMirror;
let server: MirrorServer;
let farm: SshFarm;
let dir: string;
/** each backend's probes in turn, the two backends side by side (nodes of their own): what each probe got, or why it got nothing */
const outcomes = new Map<string, ProbeOutcome | Error>();
const key = (backend: Backend, p: Probe): string => `${backend} ${p.name}`;
let wallS = 0;

beforeAll(async () => {
  const t0 = performance.now();
  dir = mkdtempSync(join(tmpdir(), 'rf-probes-'));
  chmodSync(dir, 0o755);
  mirror = await createTestMirror();
  await mirror.writeSuite({ suite: 'bookworm', packages: [...PROBES] });
  server = await mirror.serve();
  farm = await startSshFarm({ nodes: 4 });
  const chroot = await sharedChroot('bookworm', ARCH);
  for (const n of ['n03', 'n04']) installSharedChroot(chroot, farm.node(n).workdir);
  await Promise.all(
    RUNS.map(async ({ backend, probes, nodes }) => {
      const f = await probeFarm(backend, nodes);
      for (const p of probes) outcomes.set(key(backend, p), await runProbe(f, p).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    }),
  );
  wallS = (performance.now() - t0) / 1000;
}, 1_500_000);

afterAll(async () => {
  printTable();
  await server?.close();
  await farm?.stop();
  await mirror?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The figures of issue 18's table: probe, backend, expected, got, follow-up builds, and how long. */
function printTable(): void {
  const lines = RUNS.flatMap(({ backend, probes }) =>
    probes.map((p) => {
      const o = outcomes.get(key(backend, p));
      const got = !o ? 'not run' : o instanceof Error ? `error: ${o.message.slice(0, 60)}` : verdictText(o);
      const how =
        o && !(o instanceof Error) ? `${String(o.builds).padStart(2)} ${(o.source ?? '-').padEnd(6)} ${o.pairS.toFixed(0)}+${o.searchS.toFixed(0)} s` : '';
      return `${p.name.padEnd(24)} ${backend.padEnd(7)} ${verdictText(expectedVerdict(p, NOT_APPLIED[backend])).padEnd(26)} ${got.padEnd(26)} ${how}`;
    }),
  );
  console.log(
    [
      `${'probe'.padEnd(24)} backend ${'expected'.padEnd(26)} ${'got'.padEnd(26)} builds, by, pair+search`,
      ...lines,
      `set-up and every probe: ${wallS.toFixed(0)} s`,
    ].join('\n'),
  );
}

/** A config of its own per backend, on two nodes of its own; collected and synced. */
async function probeFarm(backend: Backend, nodes: readonly [string, string]): Promise<ProbeFarm> {
  const stateDir = join(dir, backend, 'state');
  const config = join(dir, `${backend}.yaml`);
  const chroot = backend === 'chroot' ? ['build: { backend: chroot }', `chroot: { mirror: ${debianMirror()}, keyring: ${DEBIAN_KEYRING} }`] : [];
  writeFileSync(
    config,
    [
      `state_dir: ${stateDir}`,
      `mirror: ${server.url}`,
      `mirror_keyring: ${mirror.keyring}`,
      'suites: [bookworm]',
      `architectures: [${ARCH}]`,
      'schedule: { max_per_arch: 0 }',
      farm.nodesYaml(),
      'jobs:',
      `  j: { nodes: [${nodes.join(', ')}] }`,
      'culprit: { max_builds_per_package: 16 }',
      ...chroot,
      '',
    ].join('\n'),
  );
  for (const cmd of ['collect', 'sync']) {
    const r = await runCli(['--config', config, cmd]);
    if (r.code !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  }
  return { config, stateDir, suite: 'bookworm', arch: ARCH, nodes };
}

/** One probe's pair and verdict, against what it captures and what the backend applied. */
function check(backend: Backend, p: Probe): void {
  const o = outcomes.get(key(backend, p));
  if (o instanceof Error) throw o;
  if (!o) throw new Error(`${p.name} was not run on ${backend} (the set-up failed)`);
  const expected = expectedVerdict(p, NOT_APPLIED[backend]);
  expect(o.notApplied, 'the variations build 2 did not apply').toEqual([...NOT_APPLIED[backend]].sort());
  expect(o.status, o.why ?? '').toBe(expected.verdict === 'reproducible' ? 'reproducible' : 'FTBR');
  expect({ verdict: o.verdict, culprits: o.culprits }, `${o.source ?? ''}: ${o.why ?? ''}`).toEqual(expected);
  // a verdict from the hints took no build; random bytes are told by the control alone
  if (o.source === 'hints') expect(o.builds).toBe(0);
  if (p.kind === 'random') expect(o.builds).toBe(1);
  expect(o.builds).toBeLessThanOrEqual(16);
}

for (const { backend, probes } of RUNS) {
  describe(`the culprit probes on the ${backend} backend`, () => {
    for (const p of probes) it(`${p.name}: ${verdictText(expectedVerdict(p, NOT_APPLIED[backend]))}`, () => check(backend, p));
  });
}
