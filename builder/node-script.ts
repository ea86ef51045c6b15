/**
 * Running node-build.sh on a node: its argv, the check that the node's copy
 * is ours (in the same round trip), and installing our copy when it is not.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { NodeConfig } from '../core/config.js';
import { projectRoot } from '../core/paths.js';
import { NODE_EXIT, NODE_LAYOUT } from '../core/protocol.js';
import type { ExecResult, Transport } from '../core/transport.js';
import type { BuildOptions } from './build-types.js';
import { checkedExec, type NodeLink } from './node-link.js';

type Rel = { suite: string; arch: string; package: string; version: string };

/**
 * node-build.sh as nodes get it: one file, its parts (node-variations.sh,
 * node-chroot.sh) in place of their `# @@INCLUDE NAME@@` lines, so that one
 * SHA256 says which version a node has and the forced command runs one file.
 */
export function assembleNodeScript(dir: string = join(projectRoot(), 'builder')): Buffer {
  const main = readFileSync(join(dir, 'node-build.sh'), 'utf8');
  const text = main.replace(/^# @@INCLUDE ([a-z-]+\.sh)@@$/gm, (_line, name: string) =>
    readFileSync(join(dir, name), 'utf8').replace(/^# shellcheck shell=sh.*\n/, ''),
  );
  return Buffer.from(text);
}

let scriptCache: { text: Buffer; sha256: string } | undefined;
export function nodeBuildScript(): { text: Buffer; sha256: string } {
  if (!scriptCache) {
    const text = assembleNodeScript();
    scriptCache = { text, sha256: createHash('sha256').update(text).digest('hex') };
  }
  return scriptCache;
}

/** `env REPROFARM_NODE=... REPROFARM_WORKDIR=... [ENV...] sh WORKDIR/bin/reprofarm-node-build.sh MODE SUITE ARCH PKG VERSION` */
export function nodeScriptArgv(node: NodeConfig, mode: string, c: Rel, env: readonly string[] = []): string[] {
  return [
    'env',
    `REPROFARM_NODE=${node.name}`,
    `REPROFARM_WORKDIR=${node.workdir}`,
    ...env,
    'sh',
    NODE_LAYOUT.script(node.workdir),
    mode,
    c.suite,
    c.arch,
    c.package,
    c.version,
  ];
}

/** The assembled script as a local file (the transports copy files): written once per version, under the temporary folder. */
async function assembledScriptFile(): Promise<string> {
  const { text, sha256 } = nodeBuildScript();
  const file = join(tmpdir(), `reprofarm-node-build.${sha256}.sh`);
  const same = await readFile(file).then(
    (b) => b.equals(text),
    () => false,
  );
  if (!same) await writeFileAtomic(file, text);
  return file;
}

/** Copy node-build.sh to the node (its copy is missing or differs). */
async function installNodeScript(t: Transport, node: NodeConfig): Promise<void> {
  const path = NODE_LAYOUT.script(node.workdir);
  await checkedExec(t, ['mkdir', '-p', dirname(path)], 'creating the script directory');
  await t.put(await assembledScriptFile(), `${path}.tmp`);
  await checkedExec(t, ['mv', '-f', `${path}.tmp`, path], 'installing node-build.sh');
}

/**
 * `argv` (`env VAR=... sh SCRIPT ...`) with the SHA256 the node's copy of
 * node-build.sh must have: the script checks itself first and exits
 * staleScript, before reading stdin, when it is missing or differs. One round
 * trip instead of a separate check.
 */
function withScriptCheck(argv: readonly string[]): string[] {
  const at = argv.indexOf('sh');
  return [...argv.slice(0, at), `REPROFARM_SCRIPT_SHA256=${nodeBuildScript().sha256}`, ...argv.slice(at)];
}

/**
 * Run node-build.sh MODE for a package version on the link's node, the work
 * order on stdin when there is one; installed first when the node's copy is stale.
 */
export async function runNodeScript(link: NodeLink, mode: string, c: Rel, order: Buffer | null, timeoutS: number, opts: BuildOptions): Promise<ExecResult> {
  const node = link.node;
  // the previous build's clean-up on this node is done before anything else starts there
  await link.settle();
  const t = await link.get();
  if (node.transport === 'local') await mkdir(node.workdir, { recursive: true });
  const script = NODE_LAYOUT.script(node.workdir);
  const argv = withScriptCheck(nodeScriptArgv(node, mode, c, order ? ['REPROFARM_ORDER_STDIN=1'] : []));
  const execOpts = {
    ...(order ? { stdin: order } : {}),
    timeoutMs: timeoutS * 1000,
    ...(opts.signal ? { signal: opts.signal } : {}),
    maxOutputBytes: 1024 * 1024,
  };
  let r = await t.exec(argv, execOpts);
  // stale: the script said so, or the shell could not open a copy that is not there yet
  const stderr = r.stderr.toString('utf8');
  const missing = (r.code === 2 || r.code === 127) && stderr.includes(script) && !stderr.includes('node-build:');
  if (r.code === NODE_EXIT.staleScript || missing) {
    await link.retrying(
      'copying node-build.sh',
      (lt) => installNodeScript(lt, node),
      opts.onEvent ? (what) => opts.onEvent?.({ type: 'retry', what: `${what} to ${node.name}` }) : undefined,
    );
    r = await (await link.get()).exec(argv, execOpts);
  }
  return r;
}
