/**
 * The culprit search, as a plan that one follow-up build at a time moves on
 * (pure: the plan is JSON in culprit_searches.plan; builder/culprit-step.ts
 * runs the builds). A step builds the package on the job's node 1 with build
 * 1's variations except a set given build 2's values, and compares the
 * artifacts with build 1's:
 *
 * 1. the control: no variation changed. If it differs, nothing we vary is
 *    needed for a difference: `nondeterministic`.
 * 2. every variation changed on that node. If it does not differ, the
 *    difference needs the other node (or comes and goes): `unknown`.
 * 3. halving: a set that differs is split in two and both halves are built; a
 *    half that differs is split again, down to single variations. Every
 *    variation that is enough on its own is found; one culprit among N costs
 *    2·log2(N) builds. A set whose halves both do not differ needs its
 *    variations together: they are named together.
 * 4. the rest: every variation not named yet changed. A difference there
 *    needs several of them together (split across halves above): they are
 *    named together, as a set a smaller one may stand for.
 */

export type StepKind = 'control' | 'all' | 'half' | 'rest';
export type StepOutcome = 'differs' | 'same' | 'failed';

/** A set waiting to be split: its halves, and what each gave so far. */
interface Group {
  set: string[];
  halves: [string[], string[]];
  results: StepOutcome[];
}

export interface Plan {
  /** the variations searched: applied in build 2 and different from build 1 */
  keys: string[];
  phase: 'control' | 'all' | 'halving' | 'rest' | 'done';
  /** sets being split, the innermost last */
  groups: Group[];
  /** variations each enough on its own for a difference */
  found: string[];
  /** sets whose members make a difference only together */
  together: string[][];
  builds: number;
}

export type Verdict =
  | { verdict: 'culprits'; culprits: string[]; together: string[][]; why: string }
  | { verdict: 'nondeterministic'; why: string }
  | { verdict: 'unknown'; why: string };

/** The next build a plan asks for. */
export interface NextStep {
  kind: StepKind;
  /** the variations given build 2's value; the rest keep build 1's */
  variations: string[];
}

export function newPlan(keys: readonly string[]): Plan {
  return { keys: [...keys].sort(), phase: 'control', groups: [], found: [], together: [], builds: 0 };
}

/** What to build next, or null when the plan is done. */
export function nextStep(plan: Plan): NextStep | null {
  switch (plan.phase) {
    case 'control':
      return { kind: 'control', variations: [] };
    case 'all':
      return { kind: 'all', variations: plan.keys };
    case 'halving': {
      const g = plan.groups[plan.groups.length - 1];
      return g ? { kind: 'half', variations: g.halves[g.results.length] ?? [] } : null;
    }
    case 'rest':
      return { kind: 'rest', variations: unnamed(plan) };
    case 'done':
      return null;
  }
}

/** The searched variations no verdict names yet. */
function unnamed(plan: Plan): string[] {
  const named = new Set([...plan.found, ...plan.together.flat()]);
  return plan.keys.filter((k) => !named.has(k));
}

/** The plan after a step's outcome, and the verdict when that ends it. A new plan object: the old one is left as it was. */
export function advance(prev: Plan, outcome: StepOutcome): { plan: Plan; verdict?: Verdict } {
  const plan: Plan = structuredClone(prev);
  plan.builds++;
  const step = nextStep(prev);
  if (!step) throw new Error('the search is done: no step to advance');
  if (outcome === 'failed') return end(plan, { verdict: 'unknown', why: `a follow-up build failed (the ${describeStep(step)})` });
  if (step.kind === 'control') {
    if (outcome === 'differs') {
      return end(plan, { verdict: 'nondeterministic', why: "a build with build 1's own variations differs from build 1" });
    }
    plan.phase = 'all';
    return { plan };
  }
  if (step.kind === 'all') {
    if (outcome === 'same') {
      return end(plan, {
        verdict: 'unknown',
        why: "with every variation of build 2 on build 1's node the artifacts match build 1's: the difference needs build 2's node, or it comes and goes",
      });
    }
    return afterDiffering(plan, plan.keys);
  }
  if (step.kind === 'rest') {
    if (outcome === 'differs') plan.together.push(step.variations);
    return finish(plan);
  }
  const g = plan.groups[plan.groups.length - 1] as Group;
  g.results.push(outcome);
  if (g.results.length < 2) return { plan };
  plan.groups.pop();
  if (g.results.every((r) => r === 'same')) plan.together.push(g.set);
  // the second half first onto the stack: the first is split first
  for (const i of [1, 0]) if (g.results[i] === 'differs') pushSet(plan, g.halves[i] as string[]);
  return plan.groups.length > 0 ? { plan } : halvingDone(plan);
}

/** Halving is over: the rest is built once, when anything is left to name. */
function halvingDone(plan: Plan): { plan: Plan; verdict?: Verdict } {
  if (plan.found.length > 0 && unnamed(plan).length > 0) {
    plan.phase = 'rest';
    return { plan };
  }
  return finish(plan);
}

/** The plan ended here, its budget spent: the verdict says what was found so far. */
export function outOfBudget(prev: Plan, budget: number): { plan: Plan; verdict: Verdict } {
  const plan: Plan = structuredClone(prev);
  const so = plan.found.length > 0 ? `; enough on their own so far: ${plan.found.join(', ')}` : '';
  return end(plan, { verdict: 'unknown', why: `the budget of ${budget} follow-up builds per package version ran out${so}` });
}

function afterDiffering(plan: Plan, set: string[]): { plan: Plan; verdict?: Verdict } {
  plan.phase = 'halving';
  pushSet(plan, set);
  return plan.groups.length > 0 ? { plan } : halvingDone(plan);
}

/** A set known to differ: one variation is a culprit; more are split in halves. */
function pushSet(plan: Plan, set: string[]): void {
  if (set.length === 1) {
    plan.found.push(set[0] as string);
    return;
  }
  const mid = Math.ceil(set.length / 2);
  plan.groups.push({ set, halves: [set.slice(0, mid), set.slice(mid)], results: [] });
}

function finish(plan: Plan): { plan: Plan; verdict: Verdict } {
  const culprits = [...new Set([...plan.found, ...plan.together.flat()])].sort();
  const parts = [];
  if (plan.found.length > 0) parts.push(`each enough on its own: ${[...plan.found].sort().join(', ')}`);
  for (const t of plan.together) parts.push(`only together: ${t.join(' + ')}${t.length > 2 ? ' (or a smaller set of them)' : ''}`);
  return end(plan, { verdict: 'culprits', culprits, together: plan.together, why: parts.join('; ') });
}

function end(plan: Plan, verdict: Verdict): { plan: Plan; verdict: Verdict } {
  plan.phase = 'done';
  plan.groups = [];
  return { plan, verdict };
}

export function describeStep(s: NextStep): string {
  if (s.kind === 'control') return "control (build 1's variations)";
  if (s.kind === 'all') return `all ${s.variations.length} variations of build 2`;
  if (s.kind === 'rest') return `the rest: build 2's ${s.variations.join(', ')}`;
  return `build 2's ${s.variations.join(', ')}`;
}

/** A plan read back from the DB, its shape checked: a row from an older or damaged DB does not run blind. */
export function parsePlan(text: string): Plan | undefined {
  let p: unknown;
  try {
    p = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof p !== 'object' || p === null) return undefined;
  const o = p as Partial<Plan>;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const phases = ['control', 'all', 'halving', 'rest', 'done'];
  if (!strings(o.keys) || !phases.includes(o.phase as string) || !strings(o.found) || typeof o.builds !== 'number') return undefined;
  if (!Array.isArray(o.together) || !o.together.every(strings) || !Array.isArray(o.groups)) return undefined;
  for (const g of o.groups as unknown[]) {
    const gg = g as Partial<Group>;
    if (!strings(gg.set) || !Array.isArray(gg.halves) || gg.halves.length !== 2 || !gg.halves.every(strings) || !Array.isArray(gg.results)) return undefined;
  }
  return o as Plan;
}
