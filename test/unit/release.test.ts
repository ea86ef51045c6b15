/** gpgv's verdict on a Release signature (archive/release.ts), from its status lines. */
import { describe, expect, it } from 'vitest';
import { judgeSignature } from '../../archive/release.js';

const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';
const valid = `[GNUPG:] VALIDSIG ${FPR} 2026-11-01 1793000000 0 4 0 22 10 01 ${FPR}`;

describe('judgeSignature', () => {
  it('accepts a good signature by a valid key: the signer fingerprint', () => {
    expect(judgeSignature(0, `[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 89ABCDEF01234567 Archive\n${valid}\n`)).toBe(FPR);
  });

  it('refuses what gpgv exits 0 for but apt does not trust: expired or revoked keys, expired signatures', () => {
    expect(judgeSignature(0, `[GNUPG:] EXPKEYSIG 89ABCDEF01234567 Archive\n${valid}\n`)).toEqual({ why: 'it is signed by an expired key' });
    expect(judgeSignature(0, `[GNUPG:] REVKEYSIG 89ABCDEF01234567 Archive\n${valid}\n`)).toEqual({ why: 'it is signed by a revoked key' });
    expect(judgeSignature(0, `[GNUPG:] EXPSIG 89ABCDEF01234567 Archive\n${valid}\n`)).toEqual({ why: 'the signature has expired' });
  });

  it('refuses unknown keys, bad signatures and anything without GOODSIG and VALIDSIG', () => {
    expect(judgeSignature(2, '[GNUPG:] ERRSIG 89ABCDEF01234567 1 10 00 1793000000 9\n[GNUPG:] NO_PUBKEY 89ABCDEF01234567\n')).toEqual({
      why: 'it is signed by a key that is not in the keyring',
    });
    expect(judgeSignature(1, '[GNUPG:] BADSIG 89ABCDEF01234567 Archive\n')).toEqual({ why: 'the signature does not match (the file was altered)' });
    expect(judgeSignature(0, `${valid}\n`)).toEqual({ why: 'gpgv did not accept it' });
    expect(judgeSignature(1, `[GNUPG:] GOODSIG 89ABCDEF01234567 Archive\n${valid}\n`)).toEqual({ why: 'gpgv did not accept it' });
    // a status word inside another line does not count
    expect(judgeSignature(0, `[GNUPG:] NOTATION_DATA GOODSIG\n${valid}\n`)).toEqual({ why: 'gpgv did not accept it' });
  });
});
