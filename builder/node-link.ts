/**
 * The main node's connection to one build node for a build: made once, shared
 * by the callers of the moment, made anew once when it drops; and the errors
 * that give a build back because of its node or its results.
 */
import { ReprofarmError, nodeWords } from '../core/errors.js';
import type { NodeConfig } from '../core/config.js';
import { openTransport } from '../core/connect.js';
import { SshFileCache } from '../core/ssh-transport.js';
import type { Status } from '../core/statuses.js';
import { TransportError, type Transport } from '../core/transport.js';

/** The build could not be done because of its node (unusable, unreachable, out of space): the claim goes back, uncounted. */
export class NodeUnusable extends ReprofarmError {
  override name = 'NodeUnusable';
}

/** node-build.sh found the node itself unfit for the build (a full disk, no chroot, the archive unreachable): not the package's fault. */
export class NodeFault extends NodeUnusable {
  override name = 'NodeFault';
  constructor(
    readonly node: string,
    message: string,
  ) {
    super(message, { advice: 'the node is marked degraded until the next reprofarm collect; fix what the message names' });
  }
}

/**
 * A build's results were refused (or it never ended): the package's doing, so
 * the claim goes back and the failure is counted; after build.max_attempts of
 * one kind the package version is recorded with `status` and this reason.
 */
export class ResultsRefused extends NodeUnusable {
  override name = 'ResultsRefused';
  constructor(
    message: string,
    readonly kind: string,
    readonly status: Status = 'FTBFS',
  ) {
    super(message);
  }
}

/** A node connection that reconnects once when it drops. */
export class NodeLink {
  /** the connection, or the connecting: callers at the same moment share one */
  private t: Promise<Transport> | undefined;
  /** the connection once made */
  private current: Transport | undefined;
  /** commands started in the background (removing fetched results): settled before the next one */
  private background: Array<Promise<unknown>> = [];
  /** how many times the connection was dropped and made anew: a transfer that spans a drop is checked with that in mind */
  generation = 0;
  constructor(
    readonly node: NodeConfig,
    private timeoutMs: number,
    private readonly files: SshFileCache,
    private signal?: AbortSignal,
  ) {}
  /** a kept link's settings for the next build */
  use(timeoutMs: number, signal: AbortSignal | undefined): void {
    this.timeoutMs = timeoutMs;
    this.signal = signal;
  }
  get(): Promise<Transport> {
    // a kept connection that dropped while nobody used it is made anew
    if (this.current && !this.current.isOpen()) this.reset();
    if (!this.t) {
      const connecting = openTransport(this.node, { timeoutMs: this.timeoutMs, files: this.files, ...(this.signal ? { signal: this.signal } : {}) });
      this.t = connecting;
      connecting.then(
        (x) => {
          if (this.t === connecting) this.current = x;
        },
        () => {
          // a failed attempt is not kept: the next caller connects anew
          if (this.t === connecting) this.t = undefined;
        },
      );
    }
    return this.t;
  }
  reset(): void {
    this.generation++;
    const t = this.t;
    this.t = undefined;
    this.current = undefined;
    void t?.then(
      (x) => x.close(),
      () => undefined,
    );
  }
  /** run `op` on this node in the background; its outcome does not matter */
  inBackground(op: (t: Transport) => Promise<unknown>): void {
    this.background.push(
      this.get()
        .then(op)
        .catch(() => undefined),
    );
  }
  /** wait for what `inBackground` started */
  async settle(): Promise<void> {
    const pending = this.background;
    this.background = [];
    await Promise.all(pending);
  }
  close(): void {
    this.reset();
  }
  /**
   * Run `op`; when the connection drops, reconnect and run it once more. Operations
   * running side by side on the dropped connection reconnect once, together.
   */
  async retrying<T>(what: string, op: (t: Transport) => Promise<T>, onRetry?: (what: string) => void): Promise<T> {
    const first = this.get();
    try {
      return await op(await first);
    } catch (err) {
      if (!(err instanceof TransportError) || err.kind !== 'dropped') throw err;
      if (this.t === first) {
        onRetry?.(what);
        this.reset();
      }
      return await op(await this.get());
    }
  }
}

/**
 * Connections kept open from one build to the next, one per node (the
 * worker's): a pair's builds after the first need no SSH handshake. A
 * connection that dropped is made anew when next used; one whose build was
 * given back is closed (the node may be in trouble).
 */
export class NodeConnections {
  private readonly links = new Map<string, NodeLink>();
  private readonly files = new SshFileCache();
  link(node: NodeConfig, timeoutMs: number, signal: AbortSignal | undefined): NodeLink {
    let l = this.links.get(node.name);
    if (!l || l.node !== node) {
      l?.close();
      l = new NodeLink(node, timeoutMs, this.files, signal);
      this.links.set(node.name, l);
    }
    l.use(timeoutMs, signal);
    return l;
  }
  drop(node: string): void {
    this.links.get(node)?.close();
    this.links.delete(node);
  }
  /** wait for what the links still run in the background, then close them */
  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((l) => l.settle()));
    for (const l of links) l.close();
  }
}

export async function checkedExec(t: Transport, argv: string[], what: string): Promise<string> {
  const r = await t.exec(argv, { timeoutMs: 120_000 });
  if (r.code !== 0)
    throw new NodeUnusable(
      `${what} on ${t.node} failed (exit ${r.code ?? r.signal ?? 'timeout'}): ${nodeWords(r.stderr.toString('utf8').trim().slice(0, 300))}`,
    );
  return r.stdout.toString('utf8');
}
