/**
 * Numbers from nodes: every numeric field a node sends (its facts, its build's
 * status file) is range-checked before it reaches the DB, a work order or a page.
 */
import { describe, expect, it } from 'vitest';
import { parseFacts, REQUIRED_FACTS } from '../../collector/facts.js';
import { statusProblem } from '../../builder/work-order.js';

const sample: Record<string, string> = { TERM: 'unset', NUM_CPU: '2', COLUMNS: 'unset' };
const good = REQUIRED_FACTS.map((k) => `${k}=${sample[k] ?? 'v'}`).join('\n') + '\n';

function problems(extra: string): string[] {
  const lines = good.split('\n').filter((l) => l && !extra.split('\n').some((e) => e && l.startsWith(`${e.split('=')[0]}=`)));
  const r = parseFacts(Buffer.from(`${lines.join('\n')}\n${extra}\n`));
  return r.ok ? [] : r.problems;
}

describe('numeric facts from a node', () => {
  it.each([
    ['NUM_CPU=1e308', /NUM_CPU must be a whole number from 1 to 65536 or unset, not "1e308"/],
    ['NUM_CPU=0', /NUM_CPU must be a whole number from 1 to 65536/],
    ['NUM_CPU=99999999999999999999', /NUM_CPU must be a whole number/],
    ['COLUMNS=-1', /COLUMNS must be a whole number up to 100000 or unset/],
    ['EPOCH=-1e308', /EPOCH must be seconds since 1970 or unset/],
    ['DISK_FREE_KB=Infinity', /DISK_FREE_KB must be a whole number of KiB or unset/],
    ['LOAD=-1 -1 -1', /LOAD must be three load averages/],
    ['UPTIME_S=NaN', /UPTIME_S must be a whole number of seconds/],
  ])('a node reporting %s has its facts rejected, with the line and the value', (line, want) => {
    expect(problems(line).join('\n')).toMatch(want);
  });

  it('a node reporting real numbers, or unset, is accepted', () => {
    expect(problems('NUM_CPU=64\nCOLUMNS=80\nEPOCH=1733212800.123\nDISK_FREE_KB=unset\nLOAD=0.15 1.20 12.00\nUPTIME_S=86400')).toEqual([]);
  });
});

describe("a node's build status file", () => {
  it.each([
    ['DURATION', '-1e308'],
    ['DURATION', '1e308'],
    ['DURATION', '99999999999'],
    ['START', '-5'],
    ['EXIT_CODE', '256'],
    ['BUILD_COMMAND_MS', '0x10'],
  ])('%s=%s from a node is refused before it reaches the DB or nodes.html', (key, value) => {
    const status = new Map([
      ['EXIT_CODE', '0'],
      ['START', '1733212800'],
      ['DURATION', '12'],
      [key, value],
    ]);
    expect(statusProblem(status)).toMatch(new RegExp(`^${key} must be a whole number from 0 to \\d+, not "${value.replace(/[.+]/g, '\\$&')}"$`));
  });

  it('a status file without an exit code is refused; a sound one passes', () => {
    expect(statusProblem(new Map([['DURATION', '3']]))).toBe('EXIT_CODE is missing');
    expect(
      statusProblem(
        new Map([
          ['EXIT_CODE', '0'],
          ['START', '1733212800'],
          ['DURATION', '3'],
          ['BUILD_COMMAND_MS', '2500'],
        ]),
      ),
    ).toBeUndefined();
  });
});
