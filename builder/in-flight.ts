/**
 * What is in flight, from the main node's work orders under
 * `<state_dir>/builds/<NODE>/<SUITE>/<ARCH>/<PKG>/<VERSION>`: written before
 * a build's order goes to its node, removed once its results are in. `status`
 * shows them; `cleanup` cleans the nodes they name and removes those that no
 * claim holds any more.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_LAYOUT } from '../core/protocol.js';
import { parseKeyValues } from './work-order.js';

export interface OrderInFlight {
  node: string;
  suite: string;
  arch: string;
  package: string;
  version: string;
  /** 1 or 2, and the job, as the order says (null when it cannot be read) */
  build: string | null;
  job: string | null;
  file: string;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** Every work order under builds/, optionally of one package only. */
export async function ordersInFlight(stateDir: string, pkg?: string): Promise<OrderInFlight[]> {
  const root = STATE_LAYOUT.builds(stateDir);
  const out: OrderInFlight[] = [];
  for (const node of await entries(root)) {
    for (const suite of await entries(join(root, node))) {
      for (const arch of await entries(join(root, node, suite))) {
        for (const p of pkg ? [pkg] : await entries(join(root, node, suite, arch))) {
          for (const version of await entries(join(root, node, suite, arch, p))) {
            // a write in progress (writeFileAtomic's temporary file) is not an order yet
            if (version.startsWith('.')) continue;
            const file = STATE_LAYOUT.order(stateDir, node, { suite, arch, package: p, version });
            const kv = parseKeyValues(await readFile(file, 'utf8').catch(() => ''));
            out.push({ node, suite, arch, package: p, version, build: kv.get('BUILD') ?? null, job: kv.get('JOB') ?? null, file });
          }
        }
      }
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}
