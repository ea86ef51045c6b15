/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse) signed with
 * Ed25519: the signature is over PAE("DSSEv1 <len> <type> <len> <body>").
 * Parsing is strict and never throws anything but an AttestationError.
 */
import { sign, verify, type KeyObject } from 'node:crypto';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sig: string }>;
}

/** What is wrong with an attestation, said for a person; `kind` names the reason for --json. */
export class AttestationError extends Error {
  override name = 'AttestationError';
  constructor(
    readonly kind: 'malformed' | 'bad-signature' | 'unknown-key' | 'retired-key' | 'not-a-subject' | 'not-found',
    message: string,
  ) {
    super(message);
  }
}

/** DSSE's pre-authentication encoding. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const head = `DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

export function signEnvelope(body: Buffer, key: KeyObject, keyid: string, payloadType = IN_TOTO_PAYLOAD_TYPE): Envelope {
  const sig = sign(null, pae(payloadType, body), key).toString('base64');
  return { payloadType, payload: body.toString('base64'), signatures: [{ keyid, sig }] };
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** One line of an .intoto.jsonl file as an envelope, its shape checked. */
export function parseEnvelope(text: string): Envelope {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AttestationError('malformed', `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const e = v as Partial<Envelope> | null;
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw new AttestationError('malformed', 'a DSSE envelope is a JSON object');
  if (e.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new AttestationError('malformed', `payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  if (typeof e.payload !== 'string' || !B64_RE.test(e.payload)) throw new AttestationError('malformed', 'payload must be base64 text');
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) throw new AttestationError('malformed', 'signatures must be a non-empty array');
  for (const s of e.signatures as unknown[]) {
    const x = s as { keyid?: unknown; sig?: unknown } | null;
    if (!x || typeof x.keyid !== 'string' || typeof x.sig !== 'string' || !B64_RE.test(x.sig)) {
      throw new AttestationError('malformed', 'each signature needs a keyid and a base64 sig');
    }
  }
  return { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures };
}

/** Whether `sig` (base64) signs the envelope's payload under `key`. */
export function checkSignature(env: Envelope, sig: string, key: KeyObject): boolean {
  try {
    return verify(null, pae(env.payloadType, Buffer.from(env.payload, 'base64')), key, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}
