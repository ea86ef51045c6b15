import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { blobKeyType, fingerprint, hostKeyAlgorithms, knownHostsName, lookupKnownHosts } from '../../core/known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}
const k1 = blob('ssh-ed25519', 'one');
const k2 = blob('ssh-ed25519', 'two');
const rsa = blob('ssh-rsa', 'three');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names non-standard ports in brackets', () => {
    expect(knownHostsName('h', 22)).toBe('h');
    expect(knownHostsName('127.0.0.1', 2201)).toBe('[127.0.0.1]:2201');
  });

  it('matches plain, hashed, wildcard and negated patterns', () => {
    const text = [
      '# comment',
      `[127.0.0.1]:2201 ssh-ed25519 ${k1.toString('base64')}`,
      `${hashed('[127.0.0.1]:2202')} ssh-ed25519 ${k2.toString('base64')} comment`,
      `*.farm.example,!bad.farm.example ssh-rsa ${rsa.toString('base64')}`,
      `@cert-authority * ssh-ed25519 ${k2.toString('base64')}`,
    ].join('\n');
    expect(lookupKnownHosts(text, '127.0.0.1', 2201).keys.map((k) => k.line)).toEqual([2]);
    expect(lookupKnownHosts(text, '127.0.0.1', 2202).keys[0]!.blob.equals(k2)).toBe(true);
    expect(lookupKnownHosts(text, '127.0.0.1', 2203).keys).toEqual([]);
    expect(lookupKnownHosts(text, 'node1.farm.example', 22).keys.map((k) => k.type)).toEqual(['ssh-rsa']);
    expect(lookupKnownHosts(text, 'bad.farm.example', 22).keys).toEqual([]);
    // a pattern without a port only matches port 22
    expect(lookupKnownHosts(text, 'node1.farm.example', 2222).keys).toEqual([]);
  });

  it('collects @revoked keys apart', () => {
    const text = `@revoked [h]:2 ssh-ed25519 ${k1.toString('base64')}\n[h]:2 ssh-ed25519 ${k2.toString('base64')}\n`;
    const m = lookupKnownHosts(text, 'h', 2);
    expect(m.revoked.map((k) => k.line)).toEqual([1]);
    expect(m.keys.map((k) => k.line)).toEqual([2]);
  });

  it('fingerprints like ssh-keygen -l and reads key types', () => {
    expect(fingerprint(k1)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(blobKeyType(rsa)).toBe('ssh-rsa');
    expect(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519'])).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
