/** A node's two newest successful collections with their facts: what nodes.html says changed between them. */
import type { FarmDb } from './index.js';

export interface CollectedFacts {
  at: string;
  facts: Map<string, string>;
}

/** Newest first; fewer than two when the node has fewer good collections. */
export function lastTwoCollections(db: FarmDb, node: string): CollectedFacts[] {
  const cs = db.sql.prepare('SELECT id, started_at FROM collections WHERE node = ? AND ok = 1 ORDER BY started_at DESC, id DESC LIMIT 2').all(node) as {
    id: number;
    started_at: string;
  }[];
  const facts = db.sql.prepare('SELECT key, value FROM facts WHERE collection_id = ? ORDER BY key');
  return cs.map((c) => ({ at: c.started_at, facts: new Map((facts.all(c.id) as { key: string; value: string }[]).map((r) => [r.key, r.value])) }));
}
