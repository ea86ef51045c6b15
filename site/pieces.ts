/**
 * Writing a file from its pieces: text, bytes and parts of other files,
 * streamed through one buffer per thread. Used by SiteWriter and by the
 * compose thread (compose-worker.ts), which loads nothing else.
 */
import { closeSync, fstatSync, openSync, readSync, rmSync, writeSync, writevSync } from 'node:fs';

/** A part of a file being composed: text (written as UTF-8), bytes, or another file (from `start` to `end`, else whole). */
export type Piece = string | Uint8Array | { file: string; start?: number; end?: number };

/*
 * A buffer allocated once per thread and used again: on some machines
 * (virtual machines with paravirtual page tables) touching fresh memory costs
 * more than reading a file. `stream` carries bytes from file to file.
 */
let stream: Buffer | undefined;

function writeAll(fd: number, bufs: Uint8Array[]): number {
  let total = 0;
  for (const b of bufs) total += b.length;
  // at most 1024 buffers per writev (IOV_MAX); a short write goes on where it stopped
  for (let i = 0; i < bufs.length; i += 1024) {
    const group = bufs.slice(i, i + 1024);
    let n = writevSync(fd, group);
    for (const b of group) {
      if (n >= b.length) {
        n -= b.length;
        continue;
      }
      let off = n;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      n = 0;
    }
  }
  return total;
}

/** Append `file`'s bytes from `start` to `end` (or its end) to `fd`, through the stream buffer. */
function copyRange(fd: number, file: string, start: number, end: number | undefined): number {
  stream ??= Buffer.allocUnsafeSlow(1 << 20);
  const src = openSync(file, 'r');
  let pos = start;
  try {
    const stop = end ?? fstatSync(src).size;
    while (pos < stop) {
      const n = readSync(src, stream, 0, Math.min(stream.length, stop - pos), pos);
      if (n === 0) throw new Error(`${file} ended at ${pos} bytes, before ${stop}`);
      writeAll(fd, [stream.subarray(0, n)]);
      pos += n;
    }
  } finally {
    closeSync(src);
  }
  return pos - start;
}

/** Write `pieces` to a new file `tmp`; returns its size. A failure removes it. */
export function writePieces(tmp: string, pieces: readonly Piece[]): number {
  const fd = openSync(tmp, 'w');
  let size = 0;
  try {
    let batch: Uint8Array[] = [];
    for (const p of pieces) {
      if (typeof p === 'string') batch.push(Buffer.from(p));
      else if (p instanceof Uint8Array) batch.push(p);
      else {
        size += writeAll(fd, batch);
        batch = [];
        size += copyRange(fd, p.file, p.start ?? 0, p.end);
      }
    }
    size += writeAll(fd, batch);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  return size;
}
