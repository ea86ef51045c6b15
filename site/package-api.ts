/**
 * `api/v1/packages/<SUITE>/<ARCH>/<PKG>.json` (docs/contract.md "JSON"): what
 * a package page shows, for scripts: its status and version, the current
 * pair's two builds with the variations applied and not applied, the culprit
 * verdict, the history, and where its attestations are. Written with the
 * package page from the same data.
 */
import type { PackageData } from '../db/site.js';
import { parseCulprits } from './culprit-groups.js';
import { issueHref, packageHref, parseJsonObject } from './model.js';

export const API_VERSION = 1;

export function packageApiDir(suite: string, arch: string): string {
  return `api/v1/packages/${suite}/${arch}`;
}

export function packageApiPath(suite: string, arch: string, pkg: string): string {
  return `${packageApiDir(suite, arch)}/${pkg}.json`;
}

export function packageApi(d: PackageData, attestation: string | null): unknown {
  const cur = d.current;
  const c = d.culprit;
  return {
    api_version: API_VERSION,
    package: d.source.name,
    suite: d.suite,
    architecture: d.arch,
    version: d.source.version,
    status: d.result?.status ?? 'untested',
    tested_version: d.result?.version ?? null,
    build_date: d.result?.build_date ?? null,
    builds_total: d.builds,
    current: cur
      ? {
          id: cur.id,
          version: cur.version,
          status: cur.status,
          job: cur.job,
          reason: cur.reason,
          unmet: cur.unmet ?? null,
          duration_s: cur.duration,
          builds: cur.runs.map((r) => ({
            build: r.build_number,
            node: r.node,
            started_at: r.started_at,
            duration_s: r.duration,
            exit_code: r.exit_code,
            result: r.result,
            variations: parseJsonObject(r.variations),
            not_applied: parseJsonObject(r.not_applied),
          })),
        }
      : null,
    verdict:
      c && c.state === 'done' && c.verdict
        ? { verdict: c.verdict, culprits: parseCulprits(c.culprits), source: c.source, why: c.why, builds: c.builds }
        : c
          ? { verdict: null, state: c.state, builds: c.builds }
          : null,
    history: d.history.map((h) => ({ version: h.version, status: h.status, build_date: h.build_date, job: h.job, node1: h.node1, node2: h.node2 })),
    attestations: attestation,
    notes: d.note
      ? {
          version: d.note.version,
          issues: d.note.issues,
          bugs: d.note.bugs,
          comments: d.note.comments,
          issue_pages: d.note.issues.map((i) => issueHref('', i)),
        }
      : null,
    page: packageHref('', d.suite, d.arch, d.source.name),
  };
}
