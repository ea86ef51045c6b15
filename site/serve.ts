/**
 * A small static file server for site_dir, on 127.0.0.1 only: GET and HEAD,
 * no directory listings, no dotfiles, nothing outside the root. Logs and text
 * reports are served as text with nosniff; diffoscope's HTML reports (made
 * from what the builds produced) are served in a CSP sandbox with no scripts,
 * so a browser never runs what a build made, even if diffoscope let it through.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ServeHandle {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function serveSite(root: string, port: number, host = '127.0.0.1'): Promise<ServeHandle> {
  const base = normalize(root + sep);
  const server = createServer((req, res) => {
    void (async (): Promise<void> => {
      const send = (code: number, text: string): void => {
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        send(405, 'method not allowed');
        return;
      }
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      } catch {
        send(400, 'bad request');
        return;
      }
      if (path.includes('\0') || path.split('/').some((seg) => seg.startsWith('.') && seg !== '')) {
        send(404, 'not found');
        return;
      }
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(base, path));
      if (!file.startsWith(base)) {
        send(404, 'not found');
        return;
      }
      let st;
      try {
        st = await fs.stat(file);
      } catch {
        send(404, 'not found');
        return;
      }
      if (st.isDirectory()) {
        // one leading slash (a Location of "//x/" would send the browser to the host x), encoded for the header
        res.writeHead(301, { Location: encodeURI(`/${path.replace(/^\/+/, '')}/`) });
        res.end();
        return;
      }
      if (!st.isFile()) {
        send(404, 'not found');
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': st.size,
        'X-Content-Type-Options': 'nosniff',
        ...(file.endsWith('.diffoscope.html') ? { 'Content-Security-Policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:" } : {}),
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    server,
    url: `http://${host}:${actual}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
