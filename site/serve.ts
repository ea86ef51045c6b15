/**
 * A small static file server for site_dir, on 127.0.0.1 only: GET and HEAD,
 * no directory listings, no dotfiles, nothing outside the root: a path is
 * resolved through its symlinks and served only if the real file is inside
 * site_dir's real path (and not in a dotfolder there). Logs and text
 * reports are served as text with nosniff; diffoscope's HTML reports (made
 * from what the builds produced) are served in a CSP sandbox with no scripts,
 * so a browser never runs what a build made, even if diffoscope let it through.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
    handle(root, base, req, res).catch(() => res.destroy());
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

/** One request: the method, the path, the file it resolves to, then the file, a redirect to its folder's URL, or an error. */
async function handle(root: string, base: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  if (path.endsWith('/')) path += 'index.html';
  const found = await resolveInside(root, base, path);
  const opened = found && (await openFile(found.real));
  if (!found || !opened) {
    send(404, 'not found');
    return;
  }
  const { fh, st } = opened;
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
    'Content-Type': TYPES[extname(found.real)] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'X-Content-Type-Options': 'nosniff',
    ...(found.real.endsWith('.diffoscope.html') || found.file.endsWith('.diffoscope.html')
      ? { 'Content-Security-Policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:" }
      : {}),
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') {
    await fh.close();
    res.end();
    return;
  }
  // a client gone half-way ends the read and closes the file
  pipeline(fh.createReadStream({ autoClose: true }), res, () => undefined);
}

/**
 * The file a URL path names, and what it really is through every symlink; undefined when
 * it is not to be served: a NUL, a dot segment, outside site_dir, or a link to /etc/passwd or
 * a linked folder leading out of site_dir (or into its dotfolders).
 */
async function resolveInside(root: string, base: string, path: string): Promise<{ file: string; real: string } | undefined> {
  if (path.includes('\0') || path.split('/').some((seg) => seg.startsWith('.') && seg !== '')) return undefined;
  const file = normalize(join(base, path));
  if (!file.startsWith(base)) return undefined;
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    return undefined;
  }
  return (await insideRoot(root, real)) ? { file, real } : undefined;
}

/** Open the resolved path, not following it again (O_NOFOLLOW): a link put in its place meanwhile fails to open. */
async function openFile(real: string): Promise<{ fh: FileHandle; st: Stats } | undefined> {
  let fh: FileHandle;
  try {
    fh = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return { fh, st: await fh.stat() };
  } catch {
    await fh.close();
    return undefined;
  }
}
