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

/** The newest envelope signed for a recorded result (a later one carries a culprit search's verdict). */
export function latestAttestationOf(db: FarmDb, buildId: number): string | undefined {
  return (stmt(db, 'SELECT envelope FROM attestations WHERE build_id = ? ORDER BY id DESC LIMIT 1').get(buildId) as { envelope: string } | undefined)?.envelope;
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

/**
 * The attestations of a batch of packages, every version: package → version →
 * envelopes, oldest first. One query per batch (the site reads a batch of
 * package pages at a time), in chunks that stay under SQLite's variable limit.
 */
export function attestationsOfPackages(db: FarmDb, suite: string, arch: string, names: readonly string[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  const CHUNK = 500;
  for (let i = 0; i < names.length; i += CHUNK) {
    const part = names.slice(i, i + CHUNK);
    const rows = db.sql
      .prepare(`SELECT package, version, envelope FROM attestations WHERE suite = ? AND arch = ? AND package IN (${part.map(() => '?').join(',')}) ORDER BY id`)
      .all(suite, arch, ...part) as Array<{ package: string; version: string; envelope: string }>;
    for (const r of rows) {
      let byVersion = out.get(r.package);
      if (!byVersion) out.set(r.package, (byVersion = new Map<string, string[]>()));
      let lines = byVersion.get(r.version);
      if (!lines) byVersion.set(r.version, (lines = []));
      lines.push(r.envelope);
    }
  }
  return out;
}
