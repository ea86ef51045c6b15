/**
 * The attestation of a result about to be recorded: made and signed before
 * recordBuild's transaction (no await inside it), stored by it with the result
 * (db/attestations.ts), published by the site. A farm without a key (key init
 * not run) records its results unsigned. A verdict a culprit search reaches
 * later is attested again: the result's statement with the verdict.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { latestAttestationOf, type AttestationRecord } from '../db/attestations.js';
import type { FarmDb } from '../db/index.js';
import type { PairRecord } from '../db/builds.js';
import type { ClaimKey } from '../db/queue.js';
import { parseEnvelope, signEnvelope } from './dsse.js';
import { loadSigningKey, type SigningKey } from './keys.js';
import { makeStatement, parseStatement, type BuildFacts, type Statement } from './statement.js';

async function fileDigest(file: string): Promise<string | null> {
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch {
    return null;
  }
}

/** A statement signed by the farm's key, as stored (one JSON line). */
function signed(signer: SigningKey, statement: Statement, at: string): AttestationRecord {
  const env = signEnvelope(Buffer.from(JSON.stringify(statement)), signer.key, signer.keyid);
  return { keyid: signer.keyid, envelope: JSON.stringify(env), issuedAt: at };
}

export async function attestRecord(config: Config, claim: ClaimKey, rec: PairRecord, now: Date): Promise<AttestationRecord | undefined> {
  const signer = loadSigningKey(config.stateDir);
  if (!signer) return undefined;
  const builds: BuildFacts[] = [];
  for (const r of rec.runs) {
    builds.push({
      build: r.buildNumber,
      node: r.node,
      node_information_sha256: await fileDigest(STATE_LAYOUT.nodeInformation(config.stateDir, r.node)),
      variations: r.variations,
      not_applied: r.notApplied,
      started_at: r.startedAt,
      duration_s: r.durationS,
      exit_code: r.exitCode,
      result: r.result,
      artifacts: (r.artifacts ?? []).map((a) => ({ name: a.name, digest: { sha256: a.sha256 } })),
    });
  }
  const at = now.toISOString();
  const v = rec.culprit?.verdict;
  const statement = makeStatement({
    package: claim.package,
    version: claim.version,
    suite: claim.suite,
    architecture: claim.arch,
    source: { dsc: { url: claim.dsc_path ? `${config.mirror.replace(/\/+$/, '')}/${claim.dsc_path}` : null, sha256: claim.dsc_sha256 ?? null } },
    status: rec.status,
    reason: rec.reason,
    recorded_at: at,
    issued_at: at,
    builds,
    verdict: v ? { verdict: v.verdict, culprits: v.culprits, source: v.source } : null,
  });
  return signed(signer, statement, at);
}

/**
 * The attestation of a culprit search's verdict: the newest statement of the FTBR result it searched
 * (`buildId`), with the verdict and a new issued_at, signed by the current key; undefined when the farm
 * does not sign or the result was recorded unsigned.
 */
export function attestVerdict(
  config: Config,
  db: FarmDb,
  buildId: number,
  verdict: { verdict: string; culprits: string[] },
  now: Date = new Date(),
): AttestationRecord | undefined {
  const signer = loadSigningKey(config.stateDir);
  const last = signer && latestAttestationOf(db, buildId);
  if (!signer || !last) return undefined;
  const statement = parseStatement(Buffer.from(parseEnvelope(last).payload, 'base64'));
  const at = now.toISOString();
  statement.predicate.verdict = { verdict: verdict.verdict, culprits: verdict.culprits, source: 'search' };
  statement.predicate.issued_at = at;
  return signed(signer, statement, at);
}
