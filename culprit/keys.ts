/**
 * Which variations a culprit search varies, and each follow-up build's
 * values: build 1's, with the step's set given build 2's (the job's values,
 * core/protocol.ts variationValues).
 */
import type { Config } from '../core/config.js';
import { VARIATIONS, variationValues } from '../core/protocol.js';

/** A job's two builds' values of every variation. */
export function jobValues(config: Config, job: string): { v1: Record<string, string>; v2: Record<string, string> } {
  const j = config.jobs.get(job)?.variations;
  return { v1: variationValues(1, j?.build1), v2: variationValues(2, j?.build2) };
}

/**
 * The variations that may explain a difference between build 1 and build 2:
 * those whose values differ and that build 2 applied (one it could not apply
 * ran like build 1's, so it made no difference), in the table's order.
 */
export function searchKeys(config: Config, job: string, notApplied2: Readonly<Record<string, string>>): string[] {
  const { v1, v2 } = jobValues(config, job);
  return VARIATIONS.map((v) => v.key).filter((k) => v1[k] !== v2[k] && !Object.hasOwn(notApplied2, k));
}

/** A follow-up build's values: build 1's, with build 2's for `changed`. */
export function stepValues(config: Config, job: string, changed: readonly string[]): Record<string, string> {
  const { v1, v2 } = jobValues(config, job);
  const out = { ...v1 };
  for (const k of changed) if (Object.hasOwn(v2, k)) out[k] = v2[k] as string;
  return out;
}
