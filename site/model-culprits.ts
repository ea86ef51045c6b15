/**
 * The view model of culprits.html: for each suite and architecture, how many
 * FTBR packages each culprit explains (a package with two culprits counts
 * under both), and how many are nondeterministic, of unknown cause, being
 * searched or not searched, each count linking to the page of those packages.
 */
import { culpritPageName, groupHelp, groupLabel, orderGroups } from './culprit-groups.js';
import { percent, rootFrom, urlSegment } from './format.js';
import { pageBase, statusHref, type PageBase } from './model.js';

export interface CulpritsInput {
  suite: string;
  arch: string;
  /** FTBR packages in all */
  ftbr: number;
  /** FTBR packages per culprit group (status-pages.ts keeps them) */
  groups: Readonly<Record<string, number>>;
}

export interface CulpritsView extends PageBase {
  sections: {
    suite: string;
    arch: string;
    ftbr: number;
    ftbrHref: string;
    rows: { label: string; help: string; count: number; pct: string; href: string | null }[];
  }[];
}

/** Shown for every suite/arch, even at 0: the verdicts other than a culprit (but "not searched"). */
const ALWAYS = ['nondeterministic', 'unknown', 'waiting'];

export function culpritsView(inputs: readonly CulpritsInput[], asOf: string | null): CulpritsView {
  const root = rootFrom(0);
  const base = pageBase('culprits', 0, asOf, 'culprits');
  return {
    title: base.title,
    root: base.root,
    nav: base.nav,
    asOf: base.asOf,
    sections: inputs.map((s) => {
      const present = Object.keys(s.groups).filter((g) => (s.groups[g] ?? 0) > 0);
      const folder = `${root}${urlSegment(s.suite)}/${urlSegment(s.arch)}/`;
      return {
        suite: s.suite,
        arch: s.arch,
        ftbr: s.ftbr,
        ftbrHref: statusHref(root, s.suite, s.arch, 'FTBR'),
        rows: orderGroups([...present, ...ALWAYS]).map((g) => {
          const count = s.groups[g] ?? 0;
          return { label: groupLabel(g), help: groupHelp(g), count, pct: percent(count, s.ftbr), href: count > 0 ? folder + culpritPageName(g) : null };
        }),
      };
    }),
  };
}
