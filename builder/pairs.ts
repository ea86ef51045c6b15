/** Node pairs: which two nodes a `build` runs on. */
import { resolve } from 'node:path';
import type { Config, NodeConfig } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { suggest } from '../core/suggest.js';
import type { Pair } from './orchestrator.js';

function localNode(config: Config, name: string): NodeConfig {
  return (
    config.nodes.get(name) ?? {
      name,
      transport: 'local',
      host: 'localhost',
      port: 0,
      user: '',
      identityFile: '',
      knownHosts: '',
      arch: undefined,
      offline: false,
      workdir: resolve(config.stateDir, 'nodes', name),
    }
  );
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
