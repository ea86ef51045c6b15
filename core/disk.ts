/**
 * A full disk, said plainly. The errors it causes speak of something else
 * ("ENOSPC ... copyfile", SQLite's "database or disk is full" or "disk I/O
 * error"); this names the disk's path, how much is free, and what to do.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReprofarmError } from './errors.js';

export class DiskFullError extends ReprofarmError {
  override name = 'DiskFullError';
  constructor(
    readonly path: string,
    readonly freeBytes: number | null,
    cause: unknown,
    readonly neededBytes?: number,
  ) {
    const room = [freeBytes === null ? '' : `${formatBytes(freeBytes)} free`, neededBytes === undefined ? '' : `${formatBytes(neededBytes)} needed`]
      .filter(Boolean)
      .join(', ');
    super(`the disk holding ${path} is full${room ? ` (${room})` : ''}`, {
      cause,
      advice: `free space on the filesystem of ${path} (reprofarm cleanup prunes old results and reports), then run again; nothing was recorded half-way`,
    });
  }
}

function formatBytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.floor(n / 1024)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** Free bytes for an unprivileged writer on the filesystem of `path` (or of its nearest existing parent). */
export function freeBytes(path: string): number | null {
  for (let p = path, i = 0; i < 64; i++) {
    try {
      const s = statfsSync(p);
      return s.bavail * s.bsize;
    } catch {
      const up = dirname(p);
      if (up === p) return null;
      p = up;
    }
  }
  return null;
}

/** Below this, an I/O error while writing is taken for a full disk. */
const NEARLY_FULL_BYTES = 16 * 1024 * 1024;

/**
 * The error as a DiskFullError when it is one: ENOSPC or EDQUOT from the file
 * system, SQLITE_FULL, or SQLite's I/O error on a disk with almost no room
 * left. `path` is where the caller was writing (a file system error's own
 * path is preferred); `neededBytes`, when known, is how much the write needed.
 */
export function asDiskFull(err: unknown, path: string, neededBytes?: number): DiskFullError | undefined {
  if (err instanceof DiskFullError) return err;
  if (!(err instanceof Error)) return undefined;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const where = typeof (err as NodeJS.ErrnoException).path === 'string' ? ((err as NodeJS.ErrnoException).path as string) : path;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return new DiskFullError(where, freeBytes(where), err, neededBytes);
  if (code.startsWith('SQLITE_IOERR')) {
    const free = freeBytes(where);
    if (free !== null && free < NEARLY_FULL_BYTES) return new DiskFullError(where, free, err, neededBytes);
  }
  return undefined;
}
