/**
 * The culprit part of a package page (issue 18): the verdict the page leads
 * with, and its evidence: the hints found in the differences (each a
 * variation, the file inside the package and the diff line), the kinds of
 * difference, and the search's follow-up builds. Every text here came from
 * a diff or the DB: the template escapes it.
 */
import type { CulpritData } from '../db/site.js';
import { culpritPageName, groupHelp, isCulpritKey, parseCulprits } from './culprit-groups.js';
import { issueForVariation } from '../notes/variation-issues.js';
import { fmtDate, fmtDuration, urlSegment } from './format.js';
import { issueHref } from './model.js';

/** The notes' issues a verdict may link to: those the package's note lists, and every issue defined. */
export interface IssueLinks {
  noted: readonly string[];
  known: ReadonlySet<string>;
}
const NO_ISSUES: IssueLinks = { noted: [], known: new Set() };

/** At most this many hints and kinds of difference are shown (the hint search keeps about 50). */
const MAX_EVIDENCE_ROWS = 200;

export interface CulpritView {
  kind: 'culprits' | 'nondeterministic' | 'unknown' | 'waiting';
  /** the verdict's first words: `culprits:`, `nondeterministic`, `unknown:`, `search in progress` */
  label: string;
  /** the culprits, each linked to its suite/arch's page of them */
  culprits: { key: string; href: string; help: string; issue: { name: string; href: string } | null }[];
  /** after the verdict: where it came from, or why there is none */
  detail: string;
  /** how the verdict was reached ('' when the detail says it) */
  why: string;
  hints: { variation: string; category: string; file: string; evidence: string }[];
  categories: { category: string; variation: string; file: string; evidence: string }[];
  /** whether there are hints, kinds of difference or steps to show */
  evidence: boolean;
  steps: {
    step: number;
    kind: string;
    variations: string;
    outcome: string;
    node: string;
    nodeHref: string;
    startedAt: string;
    duration: string;
    reason: string;
  }[];
}

const LABELS: Record<CulpritView['kind'], string> = {
  culprits: 'culprits:',
  nondeterministic: 'nondeterministic',
  unknown: 'unknown:',
  waiting: 'search in progress',
};

/** The view of a package's culprit search; `root` leads to the site root. */
export function culpritView(c: CulpritData, root: string, suite: string, arch: string, issues: IssueLinks = NO_ISSUES): CulpritView {
  const kind = c.verdict === 'culprits' || c.verdict === 'nondeterministic' ? c.verdict : c.verdict ? 'unknown' : 'waiting';
  const builds = `${c.builds} build${c.builds === 1 ? '' : 's'}`;
  const from = c.source === 'hints' ? '(from hints)' : `(from a search of ${builds})`;
  const detail = kind === 'waiting' ? `(${builds} so far)` : kind === 'unknown' ? (c.why ?? '') : from;
  const folder = `${root}${urlSegment(suite)}/${urlSegment(arch)}/`;
  const hints = records(c.hints).map((h) => ({ variation: text(h.variation), category: text(h.category), file: text(h.file), evidence: text(h.evidence) }));
  const categories = records(c.categories).map((h) => ({
    category: text(h.category),
    variation: text(h.variation),
    file: text(h.file),
    evidence: text(h.evidence),
  }));
  return {
    kind,
    label: LABELS[kind],
    culprits:
      kind === 'culprits'
        ? parseCulprits(c.culprits).map((key) => {
            const issue = issueForVariation(key, issues.noted, issues.known);
            return {
              key,
              href: isCulpritKey(key) ? folder + culpritPageName(key) : '',
              help: groupHelp(key),
              issue: issue ? { name: issue, href: issueHref(root, issue) } : null,
            };
          })
        : [],
    detail,
    why: kind === 'unknown' || kind === 'waiting' ? '' : (c.why ?? ''),
    hints,
    categories,
    evidence: hints.length + categories.length + c.steps.length > 0,
    steps: c.steps.map((s) => ({
      step: s.step,
      kind: s.kind,
      variations: stepVariations(s.kind, s.variations),
      outcome: s.outcome,
      node: s.node,
      nodeHref: `${root}nodes.html#node-${urlSegment(s.node)}`,
      startedAt: fmtDate(s.started_at),
      duration: fmtDuration(s.duration),
      reason: s.reason ?? '',
    })),
  };
}

/** A stored JSON array's objects (anything else left out), at most MAX_EVIDENCE_ROWS. */
function records(json: string): Record<string, unknown>[] {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)).slice(0, MAX_EVIDENCE_ROWS);
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Which variations a follow-up build gave build 2's value (the rest had build 1's). */
function stepVariations(kind: string, json: string): string {
  const keys = parseCulprits(json);
  if (keys.length > 0) return keys.join(', ');
  return kind === 'control' ? "none: build 1's variations" : 'none';
}
