/**
 * Reading a mirror with Debian archive layout over http(s)://, file:// or a
 * plain path. A missing file is `null` (the caller decides whether that is an
 * error); anything else that fails is a MirrorError saying what and where.
 */
import { createReadStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
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

const MAX_REDIRECTS = 5;
const MIRROR_ADVICE = 'check that the mirror is up and the mirror URL in the configuration is right';

/**
 * node:http(s) rather than fetch(): loading fetch's HTTP stack costs every
 * short-lived process (one `build` fetches one .dsc) some 50 ms of CPU.
 */
class HttpMirror implements Mirror {
  constructor(readonly base: string) {}
  url(rel: string): string {
    return `${this.base.replace(/\/+$/, '')}/${rel}`;
  }
  /** the response body, or null for 404/410; redirects followed; no byte for HTTP_TIMEOUT_MS is an error */
  private get(rel: string): Promise<IncomingMessage | null> {
    const first = this.url(rel);
    const attempt = (url: string, redirects: number): Promise<IncomingMessage | null> =>
      new Promise((resolve, reject) => {
        let u: URL;
        try {
          u = new URL(url);
        } catch (err) {
          reject(new MirrorError(`cannot fetch ${first}: ${url} is not a URL`, { cause: err, advice: MIRROR_ADVICE }));
          return;
        }
        const req = (u.protocol === 'https:' ? httpsGet : httpGet)(u, { timeout: HTTP_TIMEOUT_MS, headers: { 'user-agent': 'reprofarm' } }, (res) => {
          const status = res.statusCode ?? 0;
          const location = res.headers.location;
          if (status >= 300 && status < 400 && location) {
            res.resume();
            const next = new URL(location, u);
            if (redirects >= MAX_REDIRECTS || !/^https?:$/.test(next.protocol)) {
              reject(
                new MirrorError(`${first}: ${redirects >= MAX_REDIRECTS ? 'too many redirects' : `redirected to ${next.protocol} URL`}`, {
                  advice: MIRROR_ADVICE,
                }),
              );
              return;
            }
            resolve(attempt(next.toString(), redirects + 1));
            return;
          }
          if (status === 404 || status === 410) {
            res.resume();
            resolve(null);
            return;
          }
          if (status < 200 || status >= 300) {
            res.resume();
            reject(
              new MirrorError(`${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd(), {
                advice: 'the mirror refused the request; try again later or use another mirror',
              }),
            );
            return;
          }
          resolve(res);
        });
        req.on('timeout', () => req.destroy(new Error(`no data for ${HTTP_TIMEOUT_MS / 1000} s`)));
        req.on('error', (err) => reject(new MirrorError(`cannot fetch ${url}`, { cause: err, advice: MIRROR_ADVICE })));
      });
    return attempt(first, 0);
  }
  async fetch(rel: string, maxBytes: number): Promise<Buffer | null> {
    const res = await this.get(rel);
    if (!res) return null;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          throw new MirrorError(`${this.url(rel)} is larger than ${maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof MirrorError) throw err;
      throw new MirrorError(`cannot fetch ${this.url(rel)}: the transfer broke off`, { cause: err, advice: MIRROR_ADVICE });
    }
    if (!res.complete) throw new MirrorError(`cannot fetch ${this.url(rel)}: the transfer broke off`, { advice: MIRROR_ADVICE });
    return Buffer.concat(chunks);
  }
  async open(rel: string): Promise<Readable | null> {
    return this.get(rel);
  }
}

class FileMirror implements Mirror {
  constructor(
    readonly base: string,
    private readonly root: string,
  ) {}
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
