/** A culprit verdict's link to a notes issue (notes/variation-issues.ts, site/model-package-culprit.ts). */
import { describe, expect, it } from 'vitest';
import type { CulpritData } from '../../db/site.js';
import { issueForVariation } from '../../notes/variation-issues.js';
import { culpritView } from '../../site/model-package-culprit.js';

const search: CulpritData = {
  version: '1.0-1',
  state: 'done',
  verdict: 'culprits',
  culprits: '["BUILD_PATH","NICE"]',
  source: 'search',
  why: null,
  hints: '[]',
  categories: '[]',
  builds: 4,
  steps: [],
};

describe('culprit → issue', () => {
  it("prefers an issue the package's note lists, else the first one defined, else none", () => {
    const known = new Set(['captures_build_path', 'build_id_differences_only']);
    expect(issueForVariation('BUILD_PATH', [], known)).toBe('captures_build_path');
    expect(issueForVariation('BUILD_PATH', ['build_id_differences_only'], known)).toBe('build_id_differences_only');
    // a noted issue the checkout does not define is not linked
    expect(issueForVariation('BUILD_PATH', ['build_path_captured_in_assembly_objects'], known)).toBe('captures_build_path');
    expect(issueForVariation('NICE', [], known)).toBeNull();
    expect(issueForVariation('BUILD_PATH', [], new Set())).toBeNull();
  });

  it('links the verdict of a package page to the issue page', () => {
    const v = culpritView(search, '../../../', 'bookworm', 'amd64', { noted: [], known: new Set(['captures_build_path']) });
    expect(v.culprits.map((c) => [c.key, c.issue])).toEqual([
      ['BUILD_PATH', { name: 'captures_build_path', href: '../../../issues/captures_build_path.html' }],
      ['NICE', null],
    ]);
    expect(culpritView(search, '', 'bookworm', 'amd64').culprits.every((c) => c.issue === null)).toBe(true);
  });
});
