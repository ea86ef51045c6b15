/** notify.webhooks: a list of mappings, each a destination; and the patterns a notification's names must match. */
import { resolve } from 'node:path';
import { excerpt } from '../errors.js';
import { describe, type Problems } from './problems.js';
import { EMAIL_RE, MAX_PATH, MAX_STRING, PACKAGE_RE, SET_RE } from './schema.js';
import { isObj, type WebhookConfig } from './types.js';

const WEBHOOK_KEYS = ['url', 'secret_file', 'packages', 'maintainers', 'sets'];

function strings(p: Problems, v: unknown, at: string, re: RegExp, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.err(at, `must be a list of ${what}s, got ${describe(v)}`);
    return [];
  }
  const out: string[] = [];
  v.forEach((x: unknown, i) => {
    if (typeof x !== 'string' || !re.test(x)) p.err(`${at}[${i}]`, `${describe(x)} is not ${what}`);
    else if (out.includes(x)) p.err(`${at}[${i}]`, `"${x}" is listed twice`);
    else out.push(x);
  });
  return out;
}

/** Only http and https, with no user:password part (the signature authenticates; a URL is printed). */
export function webhookUrlProblem(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `${excerpt(s)} is not a URL; write it like http://127.0.0.1:9000/hook`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${excerpt(s)}: only http:// and https:// webhooks are supported`;
  if (u.username || u.password) return `${excerpt(s)}: no user or password in the URL (the signature header authenticates the farm)`;
  if (s.length > MAX_STRING || /[\0-\x20\x7f]/.test(s)) return `must be at most ${MAX_STRING} characters, without spaces or control characters`;
  return undefined;
}

export function readWebhooks(p: Problems, v: unknown, at: string, baseDir: string): WebhookConfig[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    p.err(at, `must be a list like [{ url: http://127.0.0.1:9000/hook, secret_file: ./keys/hook.secret }], got ${describe(v)}`);
    return [];
  }
  const out: WebhookConfig[] = [];
  v.forEach((w: unknown, i) => {
    const here = `${at}[${i}]`;
    if (!isObj(w)) return p.err(here, `must be a mapping with url and secret_file, got ${describe(w)}`);
    p.unknownKeys(w, here, WEBHOOK_KEYS);
    const url = typeof w.url === 'string' ? w.url : undefined;
    const urlProblem = url === undefined ? `must be a string, got ${describe(w.url)}` : webhookUrlProblem(url);
    if (urlProblem) p.err(`${here}.url`, w.url === undefined ? 'missing; each webhook needs a url' : urlProblem);
    else if (out.some((o) => o.url === url)) p.err(`${here}.url`, `${excerpt(url ?? '')} is listed twice`);
    const secret = w.secret_file;
    if (typeof secret !== 'string' || secret === '' || secret.length > MAX_PATH)
      p.err(
        `${here}.secret_file`,
        secret === undefined ? 'missing; each webhook needs a secret_file (the HMAC key)' : `must be a path, got ${describe(secret)}`,
      );
    const filter = {
      packages: strings(p, w.packages, `${here}.packages`, PACKAGE_RE, 'a source package name'),
      maintainers: strings(p, w.maintainers, `${here}.maintainers`, EMAIL_RE, 'a mail address'),
      sets: strings(p, w.sets, `${here}.sets`, SET_RE, 'a package set name'),
    };
    if (url && !urlProblem && typeof secret === 'string') out.push({ url, secretFile: resolve(baseDir, secret), at: here, ...filter });
  });
  return out;
}
