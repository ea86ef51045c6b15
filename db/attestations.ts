/**
 * Attestations (table attestations, migration 12): one signed DSSE envelope per
 * recorded result, written in recordBuild's transaction, so a result and its
 * attestation are committed together or not at all; the site publishes them.
 */
import type { Database } from 'better-sqlite3';
import { stmt, type FarmDb } from './index.js';

export interface AttestationRecord {
  keyid: string;
  /** the envelope, one JSON line */
  envelope: string;
  issuedAt: string;
}

type Key = { suite: string; arch: string; package: string; version: string };

/** Inside the transaction that records build `buildId`. */
export function noteAttestation(sql: Database, c: Key, buildId: number, a: AttestationRecord): void {
  sql
    .prepare('INSERT INTO attestations (suite, arch, package, version, build_id, keyid, issued_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(c.suite, c.arch, c.package, c.version, buildId, a.keyid, a.issuedAt, a.envelope);
}

/** Every attestation of a package version, oldest first: the lines of its .intoto.jsonl. */
export function attestationsOf(db: FarmDb, c: Key): string[] {
  return (
    stmt(db, 'SELECT envelope FROM attestations WHERE suite = ? AND arch = ? AND package = ? AND version = ? ORDER BY id').all(
      c.suite,
      c.arch,
      c.package,
      c.version,
    ) as Array<{ envelope: string }>
  ).map((r) => r.envelope);
}
