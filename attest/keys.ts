/**
 * The farm's signing keys under `<state_dir>/keys/` (STATE_LAYOUT): the
 * current private key (PKCS#8 PEM, mode 0600) and index.json, every public key
 * with its validity. keyid = hex SHA256 of the public key's DER
 * SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER | sha256sum`).
 * Rotation retires the old key (valid_until = now) and deletes its private half.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.js';
import { ReprofarmError } from '../core/errors.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { AttestationError } from './dsse.js';

export interface PublicKeyEntry {
  keyid: string;
  /** SPKI PEM */
  public_key: string;
  valid_from: string;
  /** null: the current key */
  valid_until: string | null;
}

export interface KeyIndex {
  keys: PublicKeyEntry[];
}

export function keyIdOf(pub: KeyObject): string {
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function publicPem(pub: KeyObject): string {
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** A key index's text as published (stable bytes: same keys, same file). */
export function indexText(index: KeyIndex): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

/** A key index read from text, its entries checked; hostile text gives an AttestationError. */
export function parseKeyIndex(text: string, where: string): KeyIndex {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AttestationError('malformed', `${where} is not JSON`);
  }
  const keys = (v as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new AttestationError('malformed', `${where}: no "keys" array`);
  for (const k of keys as Array<Partial<PublicKeyEntry> | null>) {
    if (
      !k ||
      typeof k.keyid !== 'string' ||
      typeof k.public_key !== 'string' ||
      typeof k.valid_from !== 'string' ||
      (k.valid_until !== null && typeof k.valid_until !== 'string')
    ) {
      throw new AttestationError('malformed', `${where}: each key needs keyid, public_key, valid_from and valid_until`);
    }
  }
  return { keys: keys as PublicKeyEntry[] };
}

export function readKeyIndex(stateDir: string): KeyIndex | undefined {
  const file = STATE_LAYOUT.keyIndex(stateDir);
  if (!existsSync(file)) return undefined;
  return parseKeyIndex(readFileSync(file, 'utf8'), file);
}

export interface SigningKey {
  key: KeyObject;
  keyid: string;
}

/** The current signing key, or undefined when the farm has none (key init not run). */
export function loadSigningKey(stateDir: string): SigningKey | undefined {
  const file = STATE_LAYOUT.signingKey(stateDir);
  if (!existsSync(file)) return undefined;
  const key = createPrivateKey(readFileSync(file));
  if (key.asymmetricKeyType !== 'ed25519') throw new ReprofarmError(`${file} is not an Ed25519 key`, { advice: 'reprofarm key rotate makes a new one' });
  const keyid = keyIdOf(createPublicKey(key));
  const entry = readKeyIndex(stateDir)?.keys.find((k) => k.keyid === keyid);
  if (!entry || entry.valid_until !== null) {
    throw new ReprofarmError(`the signing key ${keyid.slice(0, 16)} is not the current key of ${STATE_LAYOUT.keyIndex(stateDir)}`, {
      advice: 'a rotation did not finish: run reprofarm key rotate again',
    });
  }
  return { key, keyid };
}

async function writeNewKey(stateDir: string): Promise<SigningKey & { pem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(STATE_LAYOUT.keys(stateDir), { recursive: true, mode: 0o700 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFileAtomic(STATE_LAYOUT.signingKey(stateDir), pem, 0o600);
  return { key: privateKey, keyid: keyIdOf(publicKey), pem: publicPem(publicKey) };
}

/** key init: a new Ed25519 key; refuses when the farm has one. */
export async function initKey(stateDir: string, now = new Date()): Promise<PublicKeyEntry> {
  if (existsSync(STATE_LAYOUT.signingKey(stateDir)) || existsSync(STATE_LAYOUT.keyIndex(stateDir))) {
    throw new ReprofarmError(`the farm has a signing key already (${STATE_LAYOUT.keys(stateDir)})`, {
      advice: 'reprofarm key rotate replaces it; nothing was changed',
    });
  }
  const k = await writeNewKey(stateDir);
  const entry: PublicKeyEntry = { keyid: k.keyid, public_key: k.pem, valid_from: now.toISOString(), valid_until: null };
  await writeFileAtomic(STATE_LAYOUT.keyIndex(stateDir), indexText({ keys: [entry] }));
  return entry;
}

/**
 * key rotate: the new key is written first (beside the old one's index
 * entry), then the index retires the old key and names the new one current.
 */
export async function rotateKey(stateDir: string, now = new Date()): Promise<{ retired: PublicKeyEntry[]; current: PublicKeyEntry }> {
  const index = readKeyIndex(stateDir);
  if (!index) throw new ReprofarmError('the farm has no signing key to rotate', { advice: 'reprofarm key init makes one' });
  const at = now.toISOString();
  const retired: PublicKeyEntry[] = [];
  const keys = index.keys.map((k) => {
    if (k.valid_until !== null) return k;
    const r = { ...k, valid_until: at };
    retired.push(r);
    return r;
  });
  await unlink(STATE_LAYOUT.signingKey(stateDir)).catch(() => undefined);
  const k = await writeNewKey(stateDir);
  const current: PublicKeyEntry = { keyid: k.keyid, public_key: k.pem, valid_from: at, valid_until: null };
  await writeFileAtomic(STATE_LAYOUT.keyIndex(stateDir), indexText({ keys: [...keys, current] }));
  return { retired, current };
}
