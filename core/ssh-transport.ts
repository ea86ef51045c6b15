/**
 * The SSH transport (the only module that imports ssh2). One connection per
 * node; host keys are checked against the node's known_hosts file before any
 * authentication, and an unknown, changed or revoked key is refused with a
 * message that says how to add the right one.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import type { ClientChannel, ParsedKey, PublicKeyAuthMethod, SFTPWrapper } from 'ssh2';

// ssh2 is CommonJS. Only its client and key parser are loaded, with require:
// its index also loads the SSH server, the HTTP agents (http, https, tls) and
// key generation, and an ESM import of it first scans its source for export
// names. Both cost start-up time on every run. (ssh2 1.x has no "exports" map:
// these files are reachable by path.)
const requireCjs = createRequire(import.meta.url);
const Client = requireCjs('ssh2/lib/client.js') as typeof Ssh2.Client;
const sshUtils = { parseKey: (requireCjs('ssh2/lib/protocol/keyParser.js') as Pick<typeof Ssh2.utils, 'parseKey'>).parseKey };
type Client = Ssh2.Client;
import type { NodeConfig } from './config.js';
import { shJoin } from './shell.js';
import { blobKeyType, fingerprint, hostKeyAlgorithms, knownHostsName, KnownHosts, type KnownHostsMatch } from './known-hosts.js';
import {
  CappedBuffer,
  DEFAULT_MAX_OUTPUT,
  entryKind,
  execResult,
  TransportError,
  type ExecOptions,
  type ExecResult,
  type FileEntry,
  type Transport,
} from './transport.js';

export interface SshConnectOptions {
  /** the whole connection set-up (TCP, handshake, auth) must finish within this */
  timeoutMs: number;
  signal?: AbortSignal;
  /** share key and known_hosts reads between the connections of one run */
  files?: SshFileCache;
}

/** Reads each key and known_hosts file once per run (a fan-out to 48 nodes shares one key). */
export class SshFileCache {
  private readonly keys = new Map<string, Promise<ParsedKey>>();
  private readonly known = new Map<string, Promise<KnownHosts>>();
  /** the parsed private key: parsing once per run, not once per connection */
  key(path: string): Promise<ParsedKey> {
    let p = this.keys.get(path);
    if (!p) {
      p = readFile(path).then((buf) => {
        // OpenSSH's format may hold several keys (ssh2 returns a list then): the first one signs
        const parsed: ParsedKey | Error | ParsedKey[] = sshUtils.parseKey(buf);
        const key: ParsedKey | Error | undefined = [parsed].flat()[0];
        if (!key || key instanceof Error) {
          throw new TransportError('key-file', `identity_file ${path} is not a usable private key${key instanceof Error ? `: ${key.message}` : ''}`, {
            advice: 'use an unencrypted OpenSSH ed25519 or RSA key',
          });
        }
        return key;
      });
      this.keys.set(path, p);
    }
    return p;
  }
  knownHosts(path: string): Promise<KnownHosts> {
    let p = this.known.get(path);
    if (!p) {
      p = readFile(path, 'utf8').then(
        (text) => new KnownHosts(text),
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return new KnownHosts('');
          throw new TransportError('hostkey-unknown', `cannot read known_hosts ${path}`, { cause: err });
        },
      );
      this.known.set(path, p);
    }
    return p;
  }
}

type HostKeyVerdict = { ok: true } | { ok: false; kind: 'hostkey-unknown' | 'hostkey-changed' | 'hostkey-revoked'; message: string; advice: string };

function judgeHostKey(node: NodeConfig, known: KnownHostsMatch, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(node.host, node.port);
  const fp = fingerprint(blob);
  const type = blobKeyType(blob);
  const scan = `ssh-keyscan -t ${type}${node.port === 22 ? '' : ` -p ${node.port}`} ${node.host} >> ${node.knownHosts}`;
  const revoked = known.revoked.find((k) => k.blob.equals(blob));
  if (revoked) {
    return {
      ok: false,
      kind: 'hostkey-revoked',
      message: `host key ${fp} of ${name} is marked @revoked in ${node.knownHosts} (line ${revoked.line})`,
      advice: 'the node must get a new host key; do not connect until it has one',
    };
  }
  if (known.keys.some((k) => k.blob.equals(blob))) return { ok: true };
  if (known.keys.length === 0) {
    return {
      ok: false,
      kind: 'hostkey-unknown',
      message: `host key of ${name} is not in ${node.knownHosts}; the node offered ${type} ${fp}`,
      advice: `check that fingerprint on the node (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-/, '').replace(/-.*/, '')}_key.pub), then add it: ${scan}`,
    };
  }
  const lines = known.keys.map((k) => k.line).join(', ');
  return {
    ok: false,
    kind: 'hostkey-changed',
    message: `HOST KEY CHANGED for ${name}: the node offered ${type} ${fp}, which does not match ${node.knownHosts} line ${lines}; someone may be intercepting the connection`,
    advice: `if the node was reinstalled and you have checked the new fingerprint on it, replace the entry: ssh-keygen -R '${name}' -f ${node.knownHosts} && ${scan}`,
  };
}

function translateError(node: NodeConfig, err: unknown, verdict: HostKeyVerdict | undefined): TransportError {
  const where = `${node.user}@${node.host}:${node.port}`;
  if (verdict && !verdict.ok) return new TransportError(verdict.kind, verdict.message, { advice: verdict.advice });
  const e = err as NodeJS.ErrnoException & { level?: string };
  if (e.level === 'client-authentication') {
    return new TransportError('auth', `authentication failed for ${where} with key ${node.identityFile}`, {
      advice: `authorize ${node.identityFile}.pub for ${node.user} on the node (see "reprofarm node-setup ${node.name}")`,
    });
  }
  switch (e.code) {
    case 'ECONNREFUSED':
      return new TransportError('refused', `connection refused by ${node.host}:${node.port}`, {
        advice: 'check that sshd runs on the node and that the port in the configuration is right',
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TransportError('dns', `cannot resolve host name ${node.host}`, { advice: `check nodes.${node.name}.host` });
    case 'ECONNRESET':
    case 'EPIPE':
      return new TransportError('dropped', `connection to ${node.host}:${node.port} was dropped`, { cause: err });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TransportError('refused', `${node.host}:${node.port} is unreachable (${e.code})`, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(msg)) return new TransportError('timeout', `no SSH handshake with ${node.host}:${node.port} in time`, { cause: err });
  if (/before handshake|connection lost|closed/i.test(msg)) {
    return new TransportError('dropped', `connection to ${node.host}:${node.port} closed during the SSH handshake`, { cause: err });
  }
  return new TransportError('other', `SSH to ${where} failed: ${msg}`, { cause: err });
}

/** Open and authenticate one SSH connection. Rejects with a TransportError. */
export async function connectSsh(node: NodeConfig, opts: SshConnectOptions): Promise<SshTransport> {
  const files = opts.files ?? new SshFileCache();
  let privateKey: ParsedKey;
  try {
    privateKey = await files.key(node.identityFile);
  } catch (err) {
    if (err instanceof TransportError) throw err;
    throw new TransportError('key-file', `cannot read identity_file ${node.identityFile} for node ${node.name}`, {
      cause: err,
      advice: `create it (ssh-keygen -t ed25519 -N '' -f ${node.identityFile}) or fix nodes.${node.name}.identity_file`,
    });
  }
  const known = (await files.knownHosts(node.knownHosts)).lookup(node.host, node.port);
  const algorithms = hostKeyAlgorithms(known.keys.map((k) => k.type));

  const auth: PublicKeyAuthMethod = { type: 'publickey', username: node.user, key: privateKey };
  return new Promise<SshTransport>((resolvePromise, reject) => {
    const client = new Client();
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const finish = (err: TransportError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        client.destroy();
        reject(err);
      } else {
        resolvePromise(new SshTransport(node, client));
      }
    };
    const timer = setTimeout(() => {
      finish(
        new TransportError('timeout', `${node.host}:${node.port} did not complete the SSH handshake within ${opts.timeoutMs / 1000} s`, {
          advice: 'the node or the network may be hung; check it with ssh -v',
        }),
      );
    }, opts.timeoutMs);
    const onAbort = (): void => finish(new TransportError('aborted', `connecting to ${node.name} was aborted`));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    // no Nagle: SSH is request/response, and Nagle with delayed ACKs adds ~40 ms to every round trip
    client.on('connect', () => client.setNoDelay(true));
    client.on('ready', () => finish(undefined));
    client.on('error', (err) => finish(translateError(node, err, verdict)));
    client.on('close', () => {
      if (!settled) finish(translateError(node, new Error('connection closed before handshake'), verdict));
    });
    try {
      client.connect({
        host: node.host,
        port: node.port,
        username: node.user,
        // straight to the (already parsed) key: no 'none' probe, no password or agent attempts
        authHandler: [auth],
        readyTimeout: opts.timeoutMs + 1000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms as never } } : {}),
        hostVerifier: (key: Buffer) => {
          verdict = judgeHostKey(node, known, key);
          return verdict.ok;
        },
      });
    } catch (err) {
      // ssh2 throws synchronously on an unparsable private key
      finish(
        new TransportError('key-file', `identity_file ${node.identityFile} is not a usable private key: ${(err as Error).message}`, {
          cause: err,
          advice: 'use an unencrypted OpenSSH ed25519 or RSA key',
        }),
      );
    }
  });
}

/**
 * Send a signal request (RFC 4254 6.9) for a session's command. ssh2's
 * Channel.signal() sends nothing once this side has sent EOF, which exec does
 * right after the command's stdin; the command still runs and can still be
 * signalled, so the request then goes out through ssh2's protocol object.
 * OpenSSH's sshd kills the command's process group; it refuses signals to
 * forced-command sessions (nodes set up with node-setup), where closing the
 * channel is all that is left: the command then loses its stdin and stdout.
 */
function signalChannel(channel: ClientChannel, name: string): void {
  const ch = channel as unknown as {
    outgoing?: { state?: string; id?: number };
    _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
  };
  if (ch.outgoing?.state === 'open') {
    channel.signal(name);
  } else if (ch.outgoing?.state === 'eof' && typeof ch.outgoing.id === 'number') {
    ch._client?._protocol?.signal?.(ch.outgoing.id, name);
  }
}

export class SshTransport implements Transport {
  private sftpPromise: Promise<SFTPWrapper> | undefined;
  private closed = false;
  constructor(
    private readonly cfg: NodeConfig,
    private readonly client: Client,
  ) {
    client.on('close', () => {
      this.closed = true;
    });
    // errors after ready surface through the operation in progress
    client.on('error', () => undefined);
  }

  get node(): string {
    return this.cfg.name;
  }

  isOpen(): boolean {
    return !this.closed;
  }

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    return new Promise<ExecResult>((resolvePromise, reject) => {
      if (this.closed) {
        reject(new TransportError('dropped', `connection to ${this.cfg.name} is closed`));
        return;
      }
      const out = new CappedBuffer(cap);
      const errOut = new CappedBuffer(cap);
      let stream: ClientChannel | undefined;
      let timedOut = false;
      let truncated = false;
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (): boolean => {
        if (done) return false;
        done = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const finish = (code: number | null, signal: string | null): void => {
        if (!settle()) return;
        resolvePromise(execResult({ code, signal, timedOut, truncated, startedMs: started }, out, errOut));
      };
      // Stop the command and resolve now (killed: code null), without waiting for a node that may be hung.
      // Before the node has confirmed the session there is nothing to signal: the connection is given up,
      // as a node that cannot start a session in time cannot be trusted with the next one.
      const stop = (): void => {
        if (stream) {
          signalChannel(stream, 'KILL');
          stream.close();
        } else {
          this.close();
        }
        finish(null, null);
      };
      const onAbort = (): void => stop();
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, opts.timeoutMs);
      }
      if (opts.signal?.aborted) {
        stop();
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.client.exec(shJoin(argv), (err, channel: ClientChannel) => {
        if (done) {
          // stopped while the node was starting it: end it there too
          if (!err) {
            signalChannel(channel, 'KILL');
            channel.close();
          }
          return;
        }
        if (err) {
          settle();
          reject(new TransportError('other', `cannot start a command on ${this.cfg.name}: ${err.message}`, { cause: err }));
          return;
        }
        stream = channel;
        channel.on('data', (chunk: Buffer) => {
          if (!out.push(chunk)) {
            truncated = true;
            stop();
          }
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          if (!errOut.push(chunk)) {
            truncated = true;
            stop();
          }
        });
        let exitCode: number | null | undefined;
        let exitSignal: string | null = null;
        channel.on('exit', (code: number | null, signal?: string) => {
          exitCode = code;
          exitSignal = signal ?? null;
        });
        channel.on('close', () => {
          if (exitCode === undefined) {
            // no exit status: the connection or the session went away under the command
            if (!settle()) return;
            reject(
              new TransportError('dropped', `connection to ${this.cfg.name} was lost while a command ran`, {
                advice: 'the node may have rebooted or the network dropped; the command may or may not have finished there',
              }),
            );
            return;
          }
          finish(exitCode, exitSignal);
        });
        channel.end(opts.stdin === undefined ? undefined : Buffer.from(opts.stdin));
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpPromise ??= new Promise<SFTPWrapper>((res, rej) => {
      this.client.sftp((err, sftp) => {
        if (!err) {
          // a session that ends (the node's sftp-server or the connection gone) is not reused
          sftp.on('close', () => {
            this.sftpPromise = undefined;
          });
          res(sftp);
          return;
        }
        this.sftpPromise = undefined;
        void this.sftpError(`SFTP to ${this.cfg.name} failed`, err).then(rej);
      });
    });
    return this.sftpPromise;
  }

  /**
   * An SFTP failure: `dropped` when the connection or the SFTP session went away
   * under it (ssh2 then fails the open requests with "No response from server",
   * and the connection's close may come a moment later), so that the caller can
   * reconnect and retry; `other` for what the node answered (no such file...).
   */
  private async sftpError(what: string, err: Error): Promise<TransportError> {
    const lost = /No response from server|Channel (?:not open|closed)|Not connected|ECONNRESET|EPIPE/i.test(err.message);
    if (lost && !this.closed) await new Promise((r) => setTimeout(r, 50));
    return this.closed || lost
      ? new TransportError('dropped', `connection to ${this.cfg.name} was lost during a file transfer (${what})`, { cause: err })
      : new TransportError('other', `${what}: ${err.message}`, { cause: err });
  }

  async put(localPath: string, remotePath: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((res, rej) => {
      sftp.fastPut(localPath, remotePath, (err) =>
        err ? void this.sftpError(`copying ${localPath} to ${this.cfg.name}:${remotePath} failed`, err).then(rej) : res(),
      );
    });
  }

  async get(remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((res, rej) => {
      sftp.fastGet(remotePath, localPath, (err) =>
        err ? void this.sftpError(`copying ${this.cfg.name}:${remotePath} to ${localPath} failed`, err).then(rej) : res(),
      );
    });
  }

  async lstat(remotePath: string): Promise<FileEntry> {
    const sftp = await this.sftp();
    return new Promise<FileEntry>((res, rej) => {
      sftp.lstat(remotePath, (err, attrs) =>
        err ? void this.sftpError(`reading ${this.cfg.name}:${remotePath} failed`, err).then(rej) : res({ size: attrs.size, kind: entryKind(attrs) }),
      );
    });
  }

  close(): void {
    this.closed = true;
    this.client.end();
    // do not wait for a polite close from a node that may be hung
    setTimeout(() => this.client.destroy(), 1000).unref();
  }
}
