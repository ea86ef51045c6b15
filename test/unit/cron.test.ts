import { describe, expect, it } from 'vitest';
import { cronMatches, cronToOnCalendar, parseCron, type CronSpec } from '../../core/cron.js';
import { parseConfig } from '../../core/config.js';
import { systemdWord } from '../../ops/jobs.js';

function spec(text: string): CronSpec {
  const s = parseCron(text);
  if (typeof s === 'string') throw new Error(s);
  return s;
}

describe('timer expressions (cron syntax)', () => {
  it('parses the five fields with *, N, N-M, */S, N-M/S and lists', () => {
    const s = spec('*/15 0-6/2,23 1,15 * 1-5');
    expect(s.minute.values).toEqual([0, 15, 30, 45]);
    expect(s.hour.values).toEqual([0, 2, 4, 6, 23]);
    expect(s.dom.values).toEqual([1, 15]);
    expect(s.month.any).toBe(true);
    expect(s.dow.values).toEqual([1, 2, 3, 4, 5]);
    expect(spec('0 0 * * 7').dow.values).toEqual([0]);
    expect(spec('0 0 * * 5-7').dow.values).toEqual([0, 5, 6]);
  });

  it('says what is wrong', () => {
    expect(parseCron('* * * *')).toMatch(/must have 5 fields.*it has 4/);
    expect(parseCron('60 * * * *')).toMatch(/minute field "60"/);
    expect(parseCron('* * 0 * *')).toMatch(/day-of-month/);
    expect(parseCron('* * * jan *')).toMatch(/month field "jan"/);
    expect(parseCron('5-1 * * * *')).toMatch(/backwards/);
    expect(parseCron('*/0 * * * *')).toMatch(/step must be 1-60/);
    expect(parseCron('@daily')).toMatch(/5 fields/);
    expect(parseCron('* * * * * rm -rf /')).toMatch(/5 fields/);
  });

  it("fires on day-of-month OR day-of-week when both are set (cron's rule), and systemd gets two expressions for it", () => {
    const s = spec('5 3 1,15 * 1-5');
    expect(cronMatches(s, new Date(2026, 10, 15, 3, 5))).toBe(true); // a Sunday, the 15th
    expect(cronMatches(s, new Date(2026, 10, 16, 3, 5))).toBe(true); // a Monday
    expect(cronMatches(s, new Date(2026, 10, 21, 3, 5))).toBe(false); // a Saturday
    expect(cronToOnCalendar(s)).toEqual(['*-*-01,15 03:05:00', 'Mon,Tue,Wed,Thu,Fri *-*-* 03:05:00']);
    expect(cronToOnCalendar(spec('*/20 * * * *'))).toEqual(['*-*-* *:00,20,40:00']);
    expect(cronToOnCalendar(spec('0 4 * * 0'))).toEqual(['Sun *-*-* 04:00:00']);
  });

  it('config: timers.* are checked with their key paths, service and cleanup keys too', () => {
    const base = 'nodes:\n  a: { transport: local }\n  b: { transport: local }\n';
    const bad = parseConfig(
      `${base}timers: { collect: '*/61 * * * *', nightly: '0 0 * * *' }\nservice: { node: node, user: 'Bad User' }\ncleanup: { results_retention_days: 0 }\n`,
      't',
      '/tmp',
      null,
    );
    expect(bad.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^timers\.nightly: unknown key/),
        expect.stringMatching(/^timers\.collect: minute field "\*\/61"/),
        expect.stringMatching(/^service\.node: "node" must be an absolute path/),
        expect.stringMatching(/^service\.user: "Bad User" is not a user name/),
        expect.stringMatching(/^cleanup\.results_retention_days: 0 is out of range/),
      ]),
    );
    const good = parseConfig(`${base}timers: { sync: '0 2 * * *' }\n`, 't', '/tmp', null);
    expect(good.config?.timers).toMatchObject({ sync: '0 2 * * *', collect: '*/15 * * * *', build: '* * * * *' });
    expect(good.config?.service.node).toBe(process.execPath);
    expect(good.config?.cleanup.resultsRetentionDays).toBe(30);
  });
});

describe('systemd quoting', () => {
  it('takes % and $ literally and quotes spaces', () => {
    expect(systemdWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(systemdWord('/srv/a b/c%d$e')).toBe('"/srv/a b/c%%d$$e"');
    expect(systemdWord('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(() => systemdWord('a\nb')).toThrow(/control characters/);
  });
});
