/** Build 1's artifacts and build dependencies as a culprit search keeps them (culprit_searches.reference): what each follow-up build must match. */
export interface Reference {
  /** name -> SHA256 */
  artifacts: Record<string, string>;
  buildDepends: string[] | null;
}

/** A reference read back from the DB: whatever is not there is empty, so a damaged row compares as different, never as the same. */
export function parseReference(text: string): Reference {
  let o: Partial<Reference> = {};
  try {
    o = JSON.parse(text) as Partial<Reference>;
  } catch {
    // an unreadable reference matches no build
  }
  const artifacts = typeof o.artifacts === 'object' && o.artifacts !== null ? o.artifacts : {};
  return { artifacts, buildDepends: Array.isArray(o.buildDepends) ? o.buildDepends : null };
}
