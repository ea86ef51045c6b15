/**
 * A small static file server for site_dir, on 127.0.0.1 only: GET and HEAD,
 * no directory listings, no dotfiles, nothing outside the root: a path is
 * resolved through its symlinks and served only if the real file is inside
 * site_dir's real path (and not in a dotfolder there). Logs and text
 * reports are served as text with nosniff; diffoscope's HTML reports (made
 * from what the builds produced) are served in a CSP sandbox with no scripts,
 * so a browser never runs what a build made, even if diffoscope let it through.
 */
import { constants, promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { pipeline } from 'node:stream';
import { extname, join, normalize, relative, sep } from 'node:path';

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

/**
 * Whether a real (symlink-free) path is inside the real path of site_dir and
 * in none of its dotfolders. site_dir is resolved on each request: it may be
 * a symlink itself, or be made after the server started.
 */
async function insideRoot(root: string, real: string): Promise<boolean> {
  let realRoot: string;
  try {
    realRoot = await fs.realpath(root);
  } catch {
    return false;
  }
  const rel = relative(realRoot, real);
  if (rel === '') return true;
  if (rel.startsWith(`..${sep}`) || rel === '..' || rel.startsWith(sep)) return false;
  return !rel.split(sep).some((seg) => seg.startsWith('.'));
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
      // what the path really is, through every symlink: a link to /etc/passwd, or a linked folder
      // leading out of site_dir (or into its dotfolders), is not served
      let real: string;
      try {
        real = await fs.realpath(file);
      } catch {
        send(404, 'not found');
        return;
      }
      if (!(await insideRoot(root, real))) {
        send(404, 'not found');
        return;
      }
      let fh;
      try {
        // the resolved path, not followed again (O_NOFOLLOW): a link put in its place meanwhile fails to open
        fh = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch {
        send(404, 'not found');
        return;
      }
      let st;
      try {
        st = await fh.stat();
      } catch {
        await fh.close();
        send(404, 'not found');
        return;
      }
      if (st.isDirectory()) {
        await fh.close();
        // one leading slash (a Location of "//x/" would send the browser to the host x), encoded for the header
        res.writeHead(301, { Location: encodeURI(`/${path.replace(/^\/+/, '')}/`) });
        res.end();
        return;
      }
      if (!st.isFile()) {
        await fh.close();
        send(404, 'not found');
        return;
      }
      res.writeHead(200, {
        // by what the file really is: a link named x.html to a diffoscope report still gets the sandbox
        'Content-Type': TYPES[extname(real)] ?? 'application/octet-stream',
        'Content-Length': st.size,
        'X-Content-Type-Options': 'nosniff',
        ...(real.endsWith('.diffoscope.html') || file.endsWith('.diffoscope.html') ? { 'Content-Security-Policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:" } : {}),
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') {
        await fh.close();
        res.end();
        return;
      }
      // a client gone half-way ends the read and closes the file
      pipeline(fh.createReadStream({ autoClose: true }), res, () => undefined);
    })().catch(() => res.destroy());
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
