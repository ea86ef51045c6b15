import type { NodeConfig } from './config.js';
import { LocalTransport } from './local-transport.js';
import { connectSsh, type SshFileCache } from './ssh-transport.js';
import type { Transport } from './transport.js';

/** A transport for a configured node. Rejects with a TransportError when the node cannot be reached. */
export async function openTransport(node: NodeConfig, opts: { timeoutMs: number; signal?: AbortSignal; files?: SshFileCache }): Promise<Transport> {
  if (node.transport === 'local') return new LocalTransport(node.name);
  return connectSsh(node, opts);
}
