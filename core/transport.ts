/**
 * How the main node talks to a build node. Two implementations: ssh2 (remote
 * nodes, host keys verified) and local (child processes, the embedded default).
 * Commands are argv arrays; the SSH transport quotes them for the remote shell.
 */
import { ReprofarmError } from './errors.js';

export interface ExecOptions {
  /** bytes fed to the command's standard input, then closed */
  stdin?: string | Uint8Array;
  /** stop the command (and its process tree, where the transport can) after this long */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** keep at most this many bytes of stdout (and of stderr); more ends the command, with `truncated` set */
  maxOutputBytes?: number;
  /** extra environment (local transport only; over SSH put it in the command) */
  env?: Record<string, string>;
}

/** One result shape for success and failure. */
export interface ExecResult {
  /** exit code, or null when killed by a signal, timed out or cut off */
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface Transport {
  readonly node: string;
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** copy a local file to the node (no abort signal: over SSH, close() ends a transfer, failing it) */
  put(localPath: string, remotePath: string): Promise<void>;
  /** copy a file from the node (likewise) */
  get(remotePath: string, localPath: string): Promise<void>;
  /** what is at a path on the node, without following a symbolic link there (lstat) */
  lstat(remotePath: string): Promise<FileEntry>;
  /** false once the connection is gone (closed here, or dropped): a kept connection is then made anew */
  isOpen(): boolean;
  close(): void;
}

/** A path's entry as lstat sees it: a node's results must be regular files, never links to elsewhere. */
export interface FileEntry {
  size: number;
  kind: 'file' | 'symlink' | 'directory' | 'other';
}

export function entryKind(s: { isFile(): boolean; isSymbolicLink(): boolean; isDirectory(): boolean }): FileEntry['kind'] {
  return s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
}

export type TransportErrorKind =
  'refused' | 'timeout' | 'dns' | 'hostkey-unknown' | 'hostkey-changed' | 'hostkey-revoked' | 'auth' | 'key-file' | 'dropped' | 'aborted' | 'other';

/** A node could not be reached or talked to. `kind` is for machines; the message is for people. */
export class TransportError extends ReprofarmError {
  override name = 'TransportError';
  readonly kind: TransportErrorKind;
  constructor(kind: TransportErrorKind, message: string, options: { advice?: string; cause?: unknown } = {}) {
    super(message, options);
    this.kind = kind;
  }
}

/** Accumulates a stream's bytes up to a cap. */
export class CappedBuffer {
  private chunks: Buffer[] = [];
  size = 0;
  overflowed = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    const room = this.cap - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.cap;
      this.overflowed = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/** The result of a finished, stopped or cut-off command: a stopped or cut-off one has no exit code. */
export function execResult(
  run: { code: number | null; signal: string | null; timedOut: boolean; truncated: boolean; startedMs: number },
  out: CappedBuffer,
  err: CappedBuffer,
): ExecResult {
  return {
    code: run.timedOut || run.truncated ? null : run.code,
    signal: run.signal,
    stdout: out.buffer,
    stderr: err.buffer,
    timedOut: run.timedOut,
    truncated: run.truncated,
    durationMs: performance.now() - run.startedMs,
  };
}
