/**
 * The package-pages phase as tasks: one suite/arch's status pages and JSON
 * fragment, or a batch of its package pages. The same function runs them
 * inline and on the worker threads (package-worker.ts), so both write the
 * same bytes.
 */
import { renderPackageBatch, type BatchContext, type BatchResult } from './packages.js';
import { renderStatusPages } from './status-pages.js';

export type Task =
  | { type: 'status'; suite: string; arch: string; /** changed since the last render (undefined: any) */ names: string[] | undefined }
  | { type: 'batch'; suite: string; arch: string; names: string[]; /** see renderPackageBatch */ stage?: string };

export interface TaskResult extends BatchResult {
  statusPages: number;
  /** 1: the status pages were spliced (status-pages.ts) */
  spliced: number;
}

export function runTask(ctx: BatchContext, fragmentDir: string, t: Task): TaskResult {
  if (t.type === 'status')
    return { pages: 0, deleted: 0, written: [], skipped: [], broken: [], ...renderStatusPages(ctx, t.suite, t.arch, fragmentDir, t.names) };
  return { ...renderPackageBatch(ctx, t.suite, t.arch, t.names, t.stage), statusPages: 0, spliced: 0 };
}
