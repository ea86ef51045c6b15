/**
 * The worker threads of the package-pages phase, for a render of many
 * pages: each runs package-worker.ts, with a read-only connection of its own
 * to reproducible.db, and is handed one task at a time.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerInit, WorkerReply, WorkerRequest } from './package-worker.js';
import type { Task, TaskResult } from './tasks.js';

/** Below this many package pages, rendering inline beats starting worker threads. */
const WORKER_THRESHOLD = 4000;

/** How many threads a render of `pages` package pages uses (`requested`: SiteOptions.threads): none for a few, else up to 4, one per core. */
export function threadsFor(pages: number, requested: number | undefined): number {
  return requested ?? (pages >= WORKER_THRESHOLD ? Math.max(1, Math.min(availableParallelism(), 4)) : 0);
}

/**
 * The one place that chooses what a worker thread runs (package-worker.ts, compose-worker.ts).
 * The installed CLI runs from its bundle (scripts/bundle.mjs), where each is an entry of its own
 * beside this module's chunk; tsc's output has them beside this module too. From source (tsx,
 * vitest) there is no compiled entry: the thread loads the .ts entry through tsx, registered in
 * that thread first (on Node 20 a `--import tsx` in a worker's execArgv does not apply to its own
 * modules).
 */
export function startSiteThread(entry: 'package-worker' | 'compose-worker', data: unknown): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${entry}.js`, here), { workerData: data });
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch (err) {
    throw new Error(`the site render runs from source (${here}) and its worker threads need tsx, which did not resolve: ${String(err)}`);
  }
  const url = new URL(`./${entry}.ts`, here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(boot, { eval: true, workerData: data });
}

interface PoolThread {
  worker: Worker;
  /** an error it raised before it was given work */
  failed?: Error;
}

export class WorkerPool {
  private readonly threads: PoolThread[] = [];

  get size(): number {
    return this.threads.length;
  }

  /** Start `count` threads; they load and open the DB while the caller goes on. */
  start(count: number, init: WorkerInit): void {
    for (let i = 0; i < count; i++) {
      const t: PoolThread = { worker: startSiteThread('package-worker', init) };
      t.worker.once('error', (err) => {
        t.failed = err;
      });
      this.threads.push(t);
    }
  }

  /** Run every task on the threads, handing `take` each result as it comes; returns the files the threads wrote. */
  async run(tasks: readonly Task[], take: (task: Task, r: TaskResult) => void): Promise<number> {
    const queue = new TaskQueue(tasks);
    let files = 0;
    await Promise.all(
      this.threads.map((t) =>
        drive(t, tasks, queue, (task, r) => {
          files += r.files;
          take(task, r);
        }),
      ),
    );
    return files;
  }

  terminate(): Promise<unknown> {
    return Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

/** Feed one thread tasks from the queue until none is left, then stop it. */
function drive(t: PoolThread, tasks: readonly Task[], queue: TaskQueue, take: (task: Task, r: TaskResult & { files: number }) => void): Promise<void> {
  const { worker, failed } = t;
  return new Promise<void>((resolve, reject) => {
    if (failed) {
      reject(failed);
      return;
    }
    const send = (): void => {
      const id = queue.next();
      const task = id === undefined ? undefined : tasks[id];
      if (id === undefined || !task) {
        worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
        resolve();
        return;
      }
      worker.postMessage({ ...task, id } satisfies WorkerRequest);
    };
    worker.on('message', (m: WorkerReply) => {
      const task = tasks[m.id];
      if (m.type === 'error') {
        reject(new Error(`site worker failed on a batch of ${task?.suite ?? '?'}/${task?.arch ?? '?'}: ${m.message}`));
        return;
      }
      if (task) {
        queue.done(task);
        take(task, m);
      }
      send();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`site worker exited with code ${code}`));
    });
    send();
  });
}

/**
 * Hands out tasks (by index) so that two threads stay out of the same
 * suite/arch folder when they can: a file system serialises creating files
 * in one folder. Next: from the suite/arch with the fewest threads at work
 * in it, then the most tasks left.
 */
class TaskQueue {
  private readonly queues = new Map<string, number[]>();
  private readonly busy = new Map<string, number>();

  constructor(tasks: readonly Task[]) {
    tasks.forEach((t, i) => {
      const k = `${t.suite}/${t.arch}`;
      let q = this.queues.get(k);
      if (!q) this.queues.set(k, (q = []));
      q.push(i);
    });
  }

  next(): number | undefined {
    let best: string | undefined;
    for (const [k, q] of this.queues) {
      if (q.length === 0) continue;
      if (best === undefined || this.busyIn(k) < this.busyIn(best) || (this.busyIn(k) === this.busyIn(best) && q.length > (this.queues.get(best)?.length ?? 0)))
        best = k;
    }
    if (best === undefined) return undefined;
    this.busy.set(best, this.busyIn(best) + 1);
    return this.queues.get(best)?.shift();
  }

  done(t: Task): void {
    const k = `${t.suite}/${t.arch}`;
    this.busy.set(k, (this.busy.get(k) ?? 1) - 1);
  }

  private busyIn(k: string): number {
    return this.busy.get(k) ?? 0;
  }
}
