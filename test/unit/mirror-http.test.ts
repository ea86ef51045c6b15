/**
 * The HTTP side of archive/mirror.ts against a real loopback HTTP server:
 * redirects, missing files, refusals, size limits and broken transfers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MirrorError, openMirror } from '../../archive/mirror.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/debian/file') {
      res.writeHead(200, { 'content-length': 5 });
      res.end('hello');
    } else if (path === '/debian/moved') {
      res.writeHead(301, { location: '/debian/file' });
      res.end();
    } else if (path === '/debian/loop') {
      res.writeHead(302, { location: '/debian/loop' });
      res.end();
    } else if (path === '/debian/ftp') {
      res.writeHead(302, { location: 'ftp://example.org/x' });
      res.end();
    } else if (path === '/debian/gone') {
      res.writeHead(410);
      res.end();
    } else if (path === '/debian/error') {
      res.writeHead(503, 'Service Unavailable');
      res.end();
    } else if (path === '/debian/big') {
      res.writeHead(200);
      res.end(Buffer.alloc(4096));
    } else if (path === '/debian/cut') {
      // promises 100 bytes, sends 10, hangs up
      res.writeHead(200, { 'content-length': 100 });
      res.write(Buffer.alloc(10));
      setTimeout(() => res.socket?.destroy(), 50);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('HTTP mirror', () => {
  it('reads a file, also through a redirect', async () => {
    const m = openMirror(base);
    expect((await m.fetch('file', 100))?.toString()).toBe('hello');
    expect((await m.fetch('moved', 100))?.toString()).toBe('hello');
    const chunks: Buffer[] = [];
    for await (const c of (await m.open('moved'))! as AsyncIterable<Buffer>) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
  });

  it('gives null for a missing or gone file', async () => {
    const m = openMirror(`${base}/`);
    expect(await m.fetch('nothing-here', 100)).toBeNull();
    expect(await m.fetch('gone', 100)).toBeNull();
    expect(await m.open('nothing-here')).toBeNull();
  });

  it('refuses errors, redirect loops, non-HTTP redirects, oversized and cut-off files, with the URL', async () => {
    const m = openMirror(base);
    await expect(m.fetch('error', 100)).rejects.toThrow(/\/debian\/error: HTTP 503 Service Unavailable/);
    await expect(m.fetch('loop', 100)).rejects.toThrow(/\/debian\/loop: too many redirects/);
    await expect(m.fetch('ftp', 100)).rejects.toThrow(/redirected to ftp: URL/);
    await expect(m.fetch('big', 1000)).rejects.toThrow(/\/debian\/big is larger than 1000 bytes/);
    await expect(m.fetch('cut', 1000)).rejects.toThrow(/\/debian\/cut: the transfer broke off/);
    await expect(openMirror('http://127.0.0.1:1/debian').fetch('file', 100)).rejects.toBeInstanceOf(MirrorError);
  });
});
