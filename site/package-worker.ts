/**
 * A worker thread of a full site render: opens its own read-only connection
 * to reproducible.db and renders the batches of package pages it is sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../db/index.js';
import { SiteReader } from '../db/site.js';
import { renderPackageBatch } from './packages.js';
import { renderStatusPages } from './status-pages.js';
import { Renderer } from './render.js';
import { SiteWriter } from './writer.js';

export interface WorkerInit {
  dbPath: string;
  siteDir: string;
  stateDir: string;
  asOf: string | null;
  full: boolean;
  /** where status units write their reproducible.json fragments */
  fragmentDir: string;
}

export type WorkerRequest =
  | { type: 'batch'; id: number; suite: string; arch: string; names: string[]; stage?: string }
  | { type: 'status'; id: number; suite: string; arch: string; names?: string[] }
  | { type: 'stop' };

export type WorkerReply =
  | { type: 'done'; id: number; pages: number; statusPages: number; spliced: number; deleted: number; written: [string, number | null][]; skipped: string[]; files: number }
  | { type: 'error'; id: number; message: string };

const init = workerData as WorkerInit;
const port = parentPort;
if (port) {
  const db = openDb(init.dbPath);
  const ctx = { reader: new SiteReader(db), renderer: new Renderer(), writer: new SiteWriter(init.siteDir), stateDir: init.stateDir, asOf: init.asOf, full: init.full };
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'stop') {
      ctx.writer.dispose();
      db.close();
      port.close();
      return;
    }
    try {
      const before = ctx.writer.files;
      const r = m.type === 'status'
        ? { pages: 0, deleted: 0, written: [], skipped: [], ...renderStatusPages(ctx, m.suite, m.arch, init.fragmentDir, m.names) }
        : { ...renderPackageBatch(ctx, m.suite, m.arch, m.names, m.stage), statusPages: 0, spliced: 0 };
      port.postMessage({ type: 'done', id: m.id, ...r, files: ctx.writer.files - before } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies WorkerReply);
    }
  });
}
