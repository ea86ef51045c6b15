/** The local transport: commands run as child processes on this machine (the embedded default's nodes). */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CappedBuffer, DEFAULT_MAX_OUTPUT, execResult, TransportError, type ExecOptions, type ExecResult, type Transport } from './transport.js';

export class LocalTransport implements Transport {
  constructor(readonly node: string) {}

  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    const [cmd, ...args] = argv;
    if (cmd === undefined) return Promise.reject(new TransportError('other', 'empty command'));
    const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    return new Promise<ExecResult>((resolvePromise, reject) => {
      // its own process group, so a timeout kills the whole tree
      const child = spawn(cmd, args, {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: opts.env ? { ...process.env, ...opts.env } : process.env,
      });
      const out = new CappedBuffer(cap);
      const errOut = new CappedBuffer(cap);
      let timedOut = false;
      let truncated = false;
      let timer: NodeJS.Timeout | undefined;
      const killTree = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const onAbort = (): void => killTree();
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          killTree();
        }, opts.timeoutMs);
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (c: Buffer) => {
        if (!out.push(c)) {
          truncated = true;
          killTree();
        }
      });
      child.stderr.on('data', (c: Buffer) => {
        if (!errOut.push(c)) {
          truncated = true;
          killTree();
        }
      });
      child.stdin.on('error', () => undefined); // the command may not read its input
      child.on('error', (err) => {
        if (timer) clearTimeout(timer);
        reject(new TransportError('other', `cannot run ${cmd} on local node ${this.node}: ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolvePromise(execResult({ code, signal: signal ?? null, timedOut, truncated, startedMs: started }, out, errOut));
      });
      child.stdin.end(opts.stdin === undefined ? undefined : Buffer.from(opts.stdin));
    });
  }

  async put(localPath: string, remotePath: string): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    await copyFile(localPath, remotePath);
  }

  async get(remotePath: string, localPath: string): Promise<void> {
    await mkdir(dirname(localPath), { recursive: true });
    await copyFile(remotePath, localPath);
  }

  async size(remotePath: string): Promise<number> {
    try {
      return (await stat(remotePath)).size;
    } catch (err) {
      throw new TransportError('other', `cannot read the size of ${remotePath} on local node ${this.node}: ${(err as Error).message}`, { cause: err });
    }
  }

  isOpen(): boolean {
    return true;
  }

  close(): void {}
}
