import { resolve } from 'node:path';
import type { Config, NodeConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { buildNext, type BuildEvent, type Pair } from '../builder/orchestrator.js';
import { compareArtifacts, describeDifference, readResultDir, runDiffoscope } from '../builder/compare.js';
import { openDb } from '../db/index.js';
import { suggest, type ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

function localNode(config: Config, name: string): NodeConfig {
  return config.nodes.get(name) ?? {
    name, transport: 'local', host: 'localhost', port: 0, user: '', identityFile: '', knownHosts: '', arch: undefined, offline: false,
    workdir: resolve(config.stateDir, 'nodes', name),
  };
}

/** The pair for `build [NODE1 NODE2]`. */
export function pairFor(config: Config, names: readonly string[]): Pair {
  if (names.length === 0) {
    const locals = [...config.nodes.values()].filter((n) => n.transport === 'local');
    const [a, b] = locals.length >= 2 ? [locals[0] as NodeConfig, locals[1] as NodeConfig] : [localNode(config, 'local1'), localNode(config, 'local2')];
    const job = [...config.jobs.values()].find((j) => j.nodes[0] === a.name && j.nodes[1] === b.name)?.name ?? 'local';
    return { job, node1: a, node2: b };
  }
  if (names.length !== 2) throw new UsageError('build takes no nodes (this machine) or exactly two: NODE1 NODE2');
  const nodes = names.map((n) => {
    const node = config.nodes.get(n);
    if (!node) {
      const s = suggest(n, [...config.nodes.keys()]);
      throw new UsageError(`unknown node "${n}"${s ? `; did you mean "${s}"?` : ''}`, { advice: `configured nodes: ${[...config.nodes.keys()].join(', ')}` });
    }
    return node;
  }) as [NodeConfig, NodeConfig];
  if (nodes[0].name === nodes[1].name) throw new UsageError('build 1 and build 2 need two different nodes');
  const job = [...config.jobs.values()].find((j) => j.nodes[0] === nodes[0].name && j.nodes[1] === nodes[1].name)?.name ?? `${nodes[0].name}+${nodes[1].name}`;
  return { job, node1: nodes[0], node2: nodes[1] };
}

export async function runBuild(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const pair = pairFor(config, args.positionals);
  const db = openDb(dbFile(config.stateDir));
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const onEvent = (e: BuildEvent): void => {
      switch (e.type) {
        case 'claimed':
          rep.line(`${e.claim.package} ${e.claim.version} ${e.claim.suite}/${e.claim.arch}: claimed by ${e.pair.job} (${e.claim.reason}, priority ${e.claim.priority})`);
          break;
        case 'build-start':
          rep.verbose(`  build ${e.n} on ${e.node}...`);
          break;
        case 'build-done':
          rep.line(`  build ${e.n} on ${e.node}: ${e.result} in ${e.durationS} s`);
          break;
        case 'retry':
          rep.line(`  retrying ${termSafe(e.what)}`);
          break;
        case 'recorded':
          rep.line(`${e.claim.package} ${e.claim.version} ${e.claim.suite}/${e.claim.arch}: ${e.status}${e.reason ? ` (${termSafe(e.reason)})` : ''} in ${e.durationS.toFixed(1)} s`, true);
          break;
        case 'requeued':
          rep.line(`${e.claim.package} ${e.claim.version}: given back to the schedule: ${termSafe(e.reason)}`, true);
          break;
      }
    };
    const out = await buildNext(config, db, pair, { onEvent, signal: ac.signal });
    if (out.kind === 'idle') rep.line(`Nothing to build for ${pair.job}: ${out.reason}`);
    if (args.values.json) {
      rep.json(out.kind === 'idle' ? { outcome: 'idle', reason: out.reason } : {
        outcome: out.kind, package: out.claim.package, version: out.claim.version, suite: out.claim.suite, architecture: out.claim.arch,
        status: out.kind === 'recorded' ? out.status : null, reason: out.reason, report: out.kind === 'recorded' ? out.report : null,
        job: pair.job, node1: pair.node1.name, node2: pair.node2.name,
      });
    }
    return out.kind === 'requeued' ? 2 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    db.close();
  }
}

export async function runCompare(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [d1, d2, ...rest] = args.positionals;
  if (!d1 || !d2 || rest.length > 0) throw new UsageError('compare takes two result directories: DIR1 DIR2');
  const r1 = await readResultDir(d1);
  const r2 = await readResultDir(d2);
  if (!r1.changes || !r2.changes) throw new UsageError(`${!r1.changes ? d1 : d2} has no .changes file: is it a result directory?`);
  const cmp = compareArtifacts(r1.artifacts, r2.artifacts);
  const status = cmp.equal ? 'reproducible' : 'FTBR';
  let reason = cmp.equal ? null : describeDifference(cmp);
  const prefix = args.values.report as string | undefined;
  let report: string | null = null;
  if (!cmp.equal && prefix) {
    const d = await runDiffoscope(resolve(d1, r1.changes), resolve(d2, r2.changes), { text: `${prefix}.diffoscope.txt`, html: `${prefix}.diffoscope.html` }, {
      timeoutS: config.build.diffoscopeTimeout, maxBytes: config.build.diffoscopeMaxBytes,
    });
    if (d.problem) reason = `${reason ?? ''}; ${d.problem}`;
    report = d.text;
  }
  const deps = JSON.stringify(r1.buildDepends) === JSON.stringify(r2.buildDepends);
  rep.line(`${status}${reason ? `: ${termSafe(reason)}` : ''}${deps ? '' : ' (the .buildinfo files list different Installed-Build-Depends)'}`, true);
  if (args.values.json) rep.json({ status, reason, report, same_build_depends: deps, only_in_1: cmp.onlyIn1, only_in_2: cmp.onlyIn2, differing: cmp.differing });
  return 0;
}
