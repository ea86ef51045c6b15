/**
 * What changed in a node's facts since its previous good collection, as a
 * unified diff of `KEY=VALUE` lines (text-diff.ts). DATETIME is left out: it
 * changes with every collection by nature.
 */
import type { CollectedFacts } from '../db/site-facts.js';
import { fmtDate } from './format.js';
import { textDiff, type TextDiff } from './text-diff.js';

const ALWAYS_CHANGES = new Set(['DATETIME']);

function factsText(facts: ReadonlyMap<string, string>): string {
  return [...facts]
    .filter(([k]) => !ALWAYS_CHANGES.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** `collections`: newest first (lastTwoCollections); null when there is no previous one. */
export function factsDiff(collections: readonly CollectedFacts[]): TextDiff | null {
  const [now, before] = collections;
  if (!now || !before) return null;
  return textDiff(`collected ${fmtDate(before.at)}`, `collected ${fmtDate(now.at)}`, factsText(before.facts), factsText(now.facts), 0);
}
