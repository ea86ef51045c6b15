/**
 * Keeping site_dir in order around a render: one render at a time (a lock),
 * and what renders that died or an older configuration left behind.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ReprofarmError } from '../core/errors.js';
import { processAlive } from '../core/process.js';
import type { SiteWriter } from './writer.js';

export class SiteLockedError extends ReprofarmError {}

/** One site render at a time per site_dir; a lock left by a dead process on this host is taken over. Returns the unlock. */
export function lock(bookkeepingDir: string): () => void {
  mkdirSync(bookkeepingDir, { recursive: true });
  const file = join(bookkeepingDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${hostname()} ${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [host, pidText] = readFileSync(file, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (host === hostname() && Number.isInteger(pid) && !processAlive(pid)) {
        rmSync(file, { force: true });
        continue;
      }
      throw new SiteLockedError(`another site render is running (${host ?? '?'} pid ${pidText ?? '?'}, lock ${file})`, {
        advice: 'wait for it to finish; if that process is gone, remove the lock file',
      });
    }
  }
  throw new SiteLockedError(`could not take the site lock ${file}`);
}

/**
 * The temporary folders (`tmp-PID-THREAD`, see SiteWriter) of renders whose
 * process is gone: a render that failed or was killed leaves its partial
 * files there. A folder of a process still alive is kept, whatever it is
 * doing; this process's own are removed at the end of its render
 * (removeOwnTemps).
 */
export function removeDeadTemps(bookkeepingDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(bookkeepingDir);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^tmp-([1-9][0-9]*)-[0-9]+$/.exec(e);
    const pid = Number(m?.[1]);
    if (!m || !Number.isSafeInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(bookkeepingDir, e), { recursive: true, force: true });
  }
}

/** This process's temporary folders: its threads' (empty unless a write failed half-way; a terminated thread may leave one). */
export function removeOwnTemps(bookkeepingDir: string): void {
  for (const e of readdirSync(bookkeepingDir)) if (e.startsWith(`tmp-${process.pid}-`)) rmSync(join(bookkeepingDir, e), { recursive: true, force: true });
}

/** Before a full render's pages: drop the pages of suites and architectures no longer configured. */
export function removeUnconfigured(w: SiteWriter, config: Config): void {
  const suites = new Set(config.suites);
  const arches = new Set(config.architectures);
  for (const top of ['rb-pkg', 'logs', 'dbd', '.']) {
    let entries: string[];
    try {
      entries = readdirSync(w.path(top));
    } catch {
      continue;
    }
    for (const suite of entries) {
      const dir = w.path(`${top}/${suite}`);
      if (!statSync(dir).isDirectory()) continue;
      if (suites.has(suite)) {
        for (const arch of readdirSync(dir)) if (!arches.has(arch)) rmSync(join(dir, arch), { recursive: true, force: true });
      } else if (top !== '.') {
        // a suite no longer configured; at the site's root only the configured suites' folders are known to be ours
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}
