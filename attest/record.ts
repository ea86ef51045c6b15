/**
 * The attestation of a result about to be recorded: made and signed before
 * recordBuild's transaction (no await inside it), stored by it with the result
 * (db/attestations.ts), published by the site. A farm without a key (key init
 * not run) records its results unsigned.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import type { AttestationRecord } from '../db/attestations.js';
import type { PairRecord } from '../db/builds.js';
import type { ClaimKey } from '../db/queue.js';
import { signEnvelope } from './dsse.js';
import { loadSigningKey } from './keys.js';
import { makeStatement, type BuildFacts } from './statement.js';

async function fileDigest(file: string): Promise<string | null> {
  try {
    return createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  } catch {
    return null;
  }
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
  const env = signEnvelope(Buffer.from(JSON.stringify(statement)), signer.key, signer.keyid);
  return { keyid: signer.keyid, envelope: JSON.stringify(env), issuedAt: at };
}
