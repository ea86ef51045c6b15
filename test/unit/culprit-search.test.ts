/** The culprit search's plan against simulated packages: which variations make them differ. */
import { describe, expect, it } from 'vitest';
import { advance, nextStep, newPlan, outOfBudget, parsePlan, type Plan, type StepOutcome, type Verdict } from '../../culprit/search.js';

const KEYS = [
  'BINSH',
  'BUILD_PATH',
  'BUILD_USER',
  'CAPTURE_ENVIRONMENT',
  'COLUMNS',
  'DATE',
  'DOMAINNAME',
  'FILEORDERING',
  'HOME',
  'HOSTNAME',
  'KERNEL_PERSONALITY',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'NICE',
  'NOCHECK',
  'PARALLEL',
  'PATH',
  'TERM',
  'TZ',
  'UMASK',
];

/** Run a plan to its end against a package: `differs(set)` says whether a build with that set of build 2's values differs from build 1. */
function run(keys: readonly string[], differs: (set: readonly string[]) => StepOutcome, budget = 1000): { verdict: Verdict; plan: Plan; sets: string[][] } {
  let plan = newPlan(keys);
  const sets: string[][] = [];
  for (;;) {
    const step = nextStep(plan);
    if (!step) throw new Error('a plan ended without a verdict');
    if (plan.builds >= budget) return { ...outOfBudget(plan, budget), sets };
    sets.push(step.variations);
    // the plan survives the DB: JSON out, JSON in, between steps
    const back = parsePlan(JSON.stringify(plan));
    expect(back).toEqual(plan);
    const r = advance(back as Plan, differs(step.variations));
    plan = r.plan;
    if (r.verdict) return { verdict: r.verdict, plan, sets };
  }
}

const anyOf =
  (culprits: readonly string[]) =>
  (set: readonly string[]): StepOutcome =>
    set.some((k) => culprits.includes(k)) ? 'differs' : 'same';

describe('the culprit search', () => {
  it('finds one culprit among 21 variations in 3 + 2·log2(21) builds (control, all, halves, rest)', () => {
    for (const c of KEYS) {
      const { verdict, plan, sets } = run(KEYS, anyOf([c]));
      expect(verdict).toMatchObject({ verdict: 'culprits', culprits: [c], together: [] });
      expect(sets[0]).toEqual([]);
      expect(sets[1]).toEqual([...KEYS].sort());
      expect(plan.builds).toBeLessThanOrEqual(3 + 2 * Math.ceil(Math.log2(KEYS.length)));
    }
  });
  it('finds every culprit when several are each enough on their own', () => {
    const { verdict, plan } = run(KEYS, anyOf(['DATE', 'UMASK', 'BUILD_PATH']));
    expect(verdict).toMatchObject({ verdict: 'culprits', culprits: ['BUILD_PATH', 'DATE', 'UMASK'] });
    expect(plan.builds).toBeLessThanOrEqual(3 + 3 * 2 * Math.ceil(Math.log2(KEYS.length)));
  });
  it('names variations that differ only together, with those found alone, however the halves fall', () => {
    // TZ and DATE together (a local time), HOSTNAME on its own: DATE and TZ land in different halves
    const differs = (set: readonly string[]): StepOutcome => ((set.includes('TZ') && set.includes('DATE')) || set.includes('HOSTNAME') ? 'differs' : 'same');
    const { verdict, sets } = run(['DATE', 'HOSTNAME', 'LANG', 'TZ'], differs);
    expect(verdict).toMatchObject({ verdict: 'culprits', culprits: ['DATE', 'HOSTNAME', 'LANG', 'TZ'], together: [['DATE', 'LANG', 'TZ']] });
    expect(sets[sets.length - 1]).toEqual(['DATE', 'LANG', 'TZ']);
    expect(verdict.why).toMatch(/each enough on its own: HOSTNAME; only together: DATE \+ LANG \+ TZ \(or a smaller set/);
    // within one half: both of its halves alone do not differ
    const pair = run(['DATE', 'TZ', 'UMASK', 'ZZ'], (set) => (set.includes('TZ') && set.includes('DATE') ? 'differs' : 'same'));
    expect(pair.verdict).toMatchObject({ verdict: 'culprits', culprits: ['DATE', 'TZ'], together: [['DATE', 'TZ']] });
    // single culprits and nothing else: the rest is built once and does not differ
    const one = run(['DATE', 'HOSTNAME', 'LANG', 'TZ'], anyOf(['LANG']));
    expect(one.verdict).toMatchObject({ verdict: 'culprits', culprits: ['LANG'], together: [] });
    expect(one.sets[one.sets.length - 1]).toEqual(['DATE', 'HOSTNAME', 'TZ']);
  });
  it('says nondeterministic when the control differs, after one build', () => {
    const { verdict, plan } = run(KEYS, () => 'differs');
    expect(verdict.verdict).toBe('nondeterministic');
    expect(plan.builds).toBe(1);
  });
  it('says unknown, with why, when every variation on one node gives build 1 again', () => {
    const { verdict, plan } = run(KEYS, () => 'same');
    expect(verdict).toMatchObject({ verdict: 'unknown', why: expect.stringMatching(/needs build 2's node/) as unknown });
    expect(plan.builds).toBe(2);
  });
  it('says unknown when a follow-up build fails, and when the budget runs out', () => {
    let n = 0;
    const failing = run(KEYS, (set) => (++n === 3 ? 'failed' : anyOf(['TZ'])(set)));
    expect(failing.verdict).toMatchObject({ verdict: 'unknown', why: expect.stringMatching(/follow-up build failed/) as unknown });
    const poor = run(KEYS, anyOf(['TZ', 'LANG']), 4);
    expect(poor.verdict).toMatchObject({ verdict: 'unknown', why: expect.stringMatching(/budget of 4/) as unknown });
    expect(poor.plan.builds).toBe(4);
  });
  it('refuses a plan that is not one', () => {
    expect(parsePlan('{')).toBeUndefined();
    expect(parsePlan('{"keys":[1],"phase":"control","found":[],"together":[],"groups":[],"builds":0}')).toBeUndefined();
    expect(parsePlan('{"keys":[],"phase":"later","found":[],"together":[],"groups":[],"builds":0}')).toBeUndefined();
    expect(() => advance(newPlan([]), 'same')).not.toThrow();
  });
});
