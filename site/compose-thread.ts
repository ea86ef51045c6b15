/**
 * One file composed on a thread of its own (compose-worker.ts): started with
 * the render, so that the thread has loaded by the time the file's pieces
 * are known, then given them once. The file is written beside its target and
 * renamed into place by the render (SiteWriter.prepareWith), as any other.
 */
import type { Worker } from 'node:worker_threads';
import type { ComposeReply, ComposeRequest } from './compose-worker.js';
import type { Piece } from './pieces.js';
import { startSiteThread } from './worker-pool.js';

export class ComposeThread {
  private readonly worker: Worker;
  private failed: Error | undefined;

  constructor() {
    this.worker = startSiteThread('compose-worker', null);
    this.worker.once('error', (err) => {
      this.failed = err;
    });
  }

  /** Write `pieces` to `tmp` on the thread; resolves to its size. Once only. */
  compose(tmp: string, pieces: readonly Piece[]): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.failed) {
        reject(this.failed);
        return;
      }
      const onError = (err: Error): void => reject(err);
      this.worker.once('error', onError);
      this.worker.once('message', (r: ComposeReply) => {
        this.worker.off('error', onError);
        if ('size' in r) resolve(r.size);
        else reject(new Error(`composing ${tmp}: ${r.error}`));
      });
      this.worker.postMessage({ tmp, pieces: [...pieces] } satisfies ComposeRequest);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
