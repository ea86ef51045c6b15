/**
 * Reading a mirror with Debian archive layout over http(s)://, file:// or a
 * plain path. A missing file is `null` (the caller decides whether that is an
 * error); anything else that fails is a MirrorError saying what and where.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ReprofarmError } from '../core/errors.js';

export class MirrorError extends ReprofarmError {
  override name = 'MirrorError';
}

export interface Mirror {
  /** for messages */
  readonly base: string;
  url(rel: string): string;
  /** a whole small file, at most maxBytes */
  fetch(rel: string, maxBytes: number): Promise<Buffer | null>;
  /** a stream of a (possibly large) file */
  open(rel: string): Promise<Readable | null>;
}

const HTTP_TIMEOUT_MS = 300_000;

class HttpMirror implements Mirror {
  constructor(readonly base: string) {}
  url(rel: string): string {
    return `${this.base.replace(/\/+$/, '')}/${rel}`;
  }
  private async get(rel: string): Promise<Response | null> {
    const url = this.url(rel);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), redirect: 'follow' });
    } catch (err) {
      throw new MirrorError(`cannot fetch ${url}`, { cause: err, advice: 'check that the mirror is up and the mirror URL in the configuration is right' });
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new MirrorError(`${url}: HTTP ${res.status} ${res.statusText}`, { advice: 'the mirror refused the request; try again later or use another mirror' });
    }
    return res;
  }
  async fetch(rel: string, maxBytes: number): Promise<Buffer | null> {
    const res = await this.get(rel);
    if (!res) return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of Readable.fromWeb(res.body as never) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw new MirrorError(`${this.url(rel)} is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
  async open(rel: string): Promise<Readable | null> {
    const res = await this.get(rel);
    return res ? Readable.fromWeb(res.body as never) : null;
  }
}

class FileMirror implements Mirror {
  constructor(readonly base: string, private readonly root: string) {}
  url(rel: string): string {
    return join(this.root, rel);
  }
  async fetch(rel: string, maxBytes: number): Promise<Buffer | null> {
    const p = this.url(rel);
    try {
      const st = await stat(p);
      if (st.size > maxBytes) throw new MirrorError(`${p} is larger than ${maxBytes} bytes`);
      return await readFile(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if (err instanceof MirrorError) throw err;
      throw new MirrorError(`cannot read ${p}`, { cause: err });
    }
  }
  async open(rel: string): Promise<Readable | null> {
    const p = this.url(rel);
    try {
      await stat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new MirrorError(`cannot read ${p}`, { cause: err });
    }
    return createReadStream(p, { highWaterMark: 1 << 20 });
  }
}

export function openMirror(mirror: string): Mirror {
  if (/^https?:\/\//.test(mirror)) return new HttpMirror(mirror);
  if (mirror.startsWith('file://')) return new FileMirror(mirror, fileURLToPath(mirror));
  return new FileMirror(mirror, mirror);
}
