/**
 * A webhook: the batch as a JSON POST, signed `X-Reprofarm-Signature: sha256=<hex HMAC-SHA256 of
 * the body>` with the secret of its secret_file. No redirect is followed; 2xx is delivered.
 */
import { createHmac } from 'node:crypto';
import { openSync, closeSync, fstatSync, readSync } from 'node:fs';
import type { WebhookConfig } from '../core/config.js';
import { ReprofarmError } from '../core/errors.js';
import type { Message } from './events.js';

const MAX_SECRET = 4096;

/** The secret, trimmed: refused when missing, empty, too large or readable by every user. */
export function readSecret(w: WebhookConfig): Buffer {
  const advice = `write a secret into it, readable by this user only: openssl rand -hex 32 > ${w.secretFile}; chmod 600 ${w.secretFile}`;
  let fd: number;
  try {
    fd = openSync(w.secretFile, 'r');
  } catch (err) {
    throw new ReprofarmError(`${w.at}.secret_file: cannot read ${w.secretFile}`, { cause: err, advice });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReprofarmError(`${w.at}.secret_file: ${w.secretFile} is not a file`, { advice });
    if (st.mode & 0o004)
      throw new ReprofarmError(`${w.at}.secret_file: ${w.secretFile} is readable by every user (mode ${(st.mode & 0o777).toString(8)})`, {
        advice: `chmod 600 ${w.secretFile}`,
      });
    const buf = Buffer.alloc(MAX_SECRET + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const secret = buf.subarray(0, n).toString('utf8').trim();
    if (n > MAX_SECRET || secret === '')
      throw new ReprofarmError(`${w.at}.secret_file: ${w.secretFile} must hold a secret of 1..${MAX_SECRET} bytes`, { advice });
    return Buffer.from(secret);
  } finally {
    closeSync(fd);
  }
}

export function signature(secret: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POST the message; throws with what went wrong (refused, timed out, a status other than 2xx). */
export async function postWebhook(w: WebhookConfig, secret: Buffer, msg: Message, timeoutS: number, type: string): Promise<void> {
  const body = JSON.stringify({ type, ...msg });
  let res: Response;
  try {
    res = await fetch(w.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutS * 1000),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'reprofarm',
        'x-reprofarm-signature': signature(secret, body),
        'x-reprofarm-delivery': msg.delivery,
      },
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new ReprofarmError(`POST ${w.url}: ${cause}`);
  }
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) throw new ReprofarmError(`POST ${w.url}: HTTP ${res.status}`);
}
