/**
 * The in-toto Statement v1 reprofarm signs for a recorded result (docs/contract.md
 * "Attestations"): subjects are the pair's artifacts (none for a failed build),
 * the predicate the source, both builds, the status and the verdict. Pure.
 */
import { AttestationError } from './dsse.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'urn:reprofarm:predicate:verdict:v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface BuildFacts {
  build: 1 | 2;
  node: string;
  node_information_sha256: string | null;
  variations: Record<string, string>;
  not_applied: Record<string, string>;
  started_at: string;
  duration_s: number;
  exit_code: number | null;
  result: string;
  artifacts: Subject[];
}

export interface VerdictPredicate {
  package: string;
  version: string;
  suite: string;
  architecture: string;
  source: { dsc: { url: string | null; sha256: string | null } };
  status: string;
  reason: string | null;
  recorded_at: string;
  /** when this attestation was signed: the key must have been valid then */
  issued_at: string;
  builds: BuildFacts[];
  verdict: { verdict: string; culprits: string[]; source: string | null } | null;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: VerdictPredicate;
}

const WITH_ARTIFACTS = new Set(['reproducible', 'FTBR']);

/** The statement of a result: the subjects are both builds' artifacts, deduplicated, when the pair built. */
export function makeStatement(p: VerdictPredicate): Statement {
  const seen = new Set<string>();
  const subject: Subject[] = [];
  if (WITH_ARTIFACTS.has(p.status)) {
    for (const b of p.builds) {
      for (const a of b.artifacts) {
        const k = `${a.name}\0${a.digest.sha256}`;
        if (!seen.has(k)) subject.push(a);
        seen.add(k);
      }
    }
  }
  subject.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.digest.sha256 < b.digest.sha256 ? -1 : 1));
  return { _type: STATEMENT_TYPE, subject, predicateType: PREDICATE_TYPE, predicate: p };
}

const str = (v: unknown): v is string => typeof v === 'string';

/** A signed payload as a statement, checked field by field (the payload may be anyone's bytes). */
export function parseStatement(body: Buffer): Statement {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AttestationError('malformed', 'the payload is not JSON');
  }
  const s = v as Partial<Statement> | null;
  if (!s || typeof s !== 'object') throw new AttestationError('malformed', 'the statement is not an object');
  if (s._type !== STATEMENT_TYPE) throw new AttestationError('malformed', `_type must be ${STATEMENT_TYPE}`);
  if (s.predicateType !== PREDICATE_TYPE) throw new AttestationError('malformed', `predicateType must be ${PREDICATE_TYPE}`);
  if (!Array.isArray(s.subject) || !s.subject.every((x) => x && str(x.name) && /^[0-9a-f]{64}$/.test(String(x.digest?.sha256)))) {
    throw new AttestationError('malformed', 'subject must be a list of {name, digest: {sha256}}');
  }
  const p = s.predicate as Partial<VerdictPredicate> | undefined;
  if (!p || ![p.package, p.version, p.suite, p.architecture, p.status, p.recorded_at, p.issued_at].every(str) || !Array.isArray(p.builds)) {
    throw new AttestationError('malformed', 'the predicate needs package, version, suite, architecture, status, recorded_at, issued_at and builds');
  }
  if (!p.builds.every((b) => b && str(b.node) && str(b.started_at))) throw new AttestationError('malformed', 'each build needs a node and started_at');
  return s as Statement;
}
