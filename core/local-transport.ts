/** The local transport: commands run as child processes on this machine (the embedded default's nodes). */
import { spawn } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
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

  /** Only a regular file is copied, opened without following a symbolic link (O_NOFOLLOW): a local node shares this machine's files. */
  async get(remotePath: string, localPath: string): Promise<void> {
    await mkdir(dirname(localPath), { recursive: true });
    let fh;
    try {
      fh = await open(remotePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symbolic link' : (err as Error).message;
      throw new TransportError('other', `not copying ${remotePath} from local node ${this.node}: ${why}`, { cause: err });
    }
    try {
      if (!(await fh.stat()).isFile()) throw new TransportError('other', `not copying ${remotePath} from local node ${this.node}: it is not a regular file`);
      await pipeline(fh.createReadStream({ autoClose: false }), createWriteStream(localPath));
    } finally {
      await fh.close();
    }
  }

  async lstat(remotePath: string): Promise<FileEntry> {
    try {
      const s = await lstat(remotePath);
      return { size: s.size, kind: entryKind(s) };
    } catch (err) {
      throw new TransportError('other', `cannot read ${remotePath} on local node ${this.node}: ${(err as Error).message}`, { cause: err });
    }
  }

  isOpen(): boolean {
    return true;
  }

  close(): void {}
}
