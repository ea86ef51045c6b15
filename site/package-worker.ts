/**
 * A worker thread of the package-pages phase (worker-pool.ts starts it):
 * opens its own read-only connection to reproducible.db and runs the tasks
 * it is sent, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../db/index.js';
import { SiteReader } from '../db/site.js';
import type { Finding } from './breakages.js';
import { Renderer } from './render.js';
import { runTask, type Task } from './tasks.js';
import { SiteWriter } from './writer.js';

export interface WorkerInit {
  dbPath: string;
  siteDir: string;
  /** the farm's state_dir (build logs and reports are published from there) */
  stateDir: string;
  asOf: string | null;
  full: boolean;
  /** where the status pages' tasks write their reproducible.json fragments */
  fragmentDir: string;
}

export type WorkerRequest = (Task & { id: number }) | { type: 'stop' };

export type WorkerReply =
  | {
      type: 'done';
      id: number;
      pages: number;
      statusPages: number;
      spliced: number;
      deleted: number;
      written: [string, number | null][];
      skipped: string[];
      broken: [string, Finding[]][];
      files: number;
    }
  | { type: 'error'; id: number; message: string };

const init = workerData as WorkerInit;
const port = parentPort;
if (port) {
  const db = openDb(init.dbPath);
  const ctx = {
    reader: new SiteReader(db),
    renderer: new Renderer(),
    writer: new SiteWriter(init.siteDir),
    stateDir: init.stateDir,
    asOf: init.asOf,
    full: init.full,
  };
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'stop') {
      ctx.writer.dispose();
      db.close();
      port.close();
      return;
    }
    try {
      const before = ctx.writer.files;
      const r = runTask(ctx, init.fragmentDir, m);
      port.postMessage({ type: 'done', id: m.id, ...r, files: ctx.writer.files - before } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies WorkerReply);
    }
  });
}
