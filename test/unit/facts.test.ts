import { describe, expect, it } from 'vitest';
import { clockOffset, formatNodeInformation, MAX_OUTPUT_BYTES, parseFacts, parseNodeInformation, REQUIRED_FACTS } from '../../collector/facts.js';
import { judgeHealth } from '../../collector/health.js';

// numeric facts must be numbers (or unset): the rest may be any text
const sample: Record<string, string> = { TERM: 'unset', NUM_CPU: '2', COLUMNS: 'unset' };
const good = REQUIRED_FACTS.map((k) => `${k}=${sample[k] ?? 'v'}`).join('\n') + '\n';
const thresholds = { minFreeDiskMb: 1024, minFreeInodes: 10000, maxLoadPerCpu: 4 };

function parse(text: string | Buffer) {
  return parseFacts(typeof text === 'string' ? Buffer.from(text) : text);
}

describe('parseFacts', () => {
  it('accepts KEY=VALUE lines, values with = and spaces, and keeps their order', () => {
    const r = parse(`${good}EXTRA=a=b c\n`);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.facts.at(-1)).toEqual(['EXTRA', 'a=b c']);
  });

  it('rejects lines that are not KEY=VALUE, with line numbers and a safe excerpt', () => {
    const r = parse(`${good}hello world\n=x\nlower=1\n`);
    expect(r).toEqual({
      ok: false,
      problems: [
        `line ${REQUIRED_FACTS.length + 1}: not KEY=VALUE: "hello world"`,
        `line ${REQUIRED_FACTS.length + 2}: not KEY=VALUE: "=x"`,
        `line ${REQUIRED_FACTS.length + 3}: bad key "lower" (use A-Z, 0-9, _)`,
      ],
    });
  });

  it('rejects control characters, escape sequences, bidi overrides, long values, duplicates and reserved keys', () => {
    const cases: Array<[string, RegExp]> = [
      ['X=a\x1b[31mred\n', /value of X contains control characters/],
      ['X=a\rb\n', /control characters/],
      ['X=a\u202eb\n', /control characters/],
      [`X=${'a'.repeat(1025)}\n`, /longer than 1024/],
      ['ARCH=amd64\n', /ARCH given twice/],
      ['NODE=other\n', /reserved for the main node/],
    ];
    for (const [extra, re] of cases) {
      const r = parse(good + extra);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n')).toMatch(re);
    }
    // the excerpt quoted in the problem cannot reorder or break the message it is in
    const bidi = parse(`${good}X=a\u202eb\u2028c\u2066d\n`);
    expect(bidi.ok).toBe(false);
    if (!bidi.ok) {
      expect(bidi.problems.join('\n')).toContain('"a\\u202eb\\u2028c\\u2066d"');
      expect(bidi.problems.join('\n')).not.toMatch(/[\u2028\u202e\u2066]/);
    }
  });

  it('rejects non-UTF-8, oversized output, and output missing required facts', () => {
    expect(parse(Buffer.concat([Buffer.from(good), Buffer.from([0xff, 0xfe, 0x0a])]))).toEqual({ ok: false, problems: ['output is not valid UTF-8'] });
    expect(parse(Buffer.alloc(MAX_OUTPUT_BYTES + 1, 0x41))).toEqual({ ok: false, problems: [`output is larger than ${MAX_OUTPUT_BYTES} bytes`] });
    const r = parse('ARCH=amd64\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toContain('missing NUM_CPU');
  });

  it('caps the problem list', () => {
    const r = parse('x\n'.repeat(50));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.at(-1)).toMatch(/^and \d+ more problems$/);
  });
});

describe('clock offset, node-information files, health', () => {
  it('computes the clock offset from EPOCH, else DATETIME; a year ahead is just a number', () => {
    const main = Date.parse('2026-01-01T00:00:00Z');
    expect(clockOffset(new Map([['EPOCH', String(main / 1000 + 398 * 86400 + 1.5)]]), main)).toBe(398 * 86400 + 1.5);
    expect(
      clockOffset(
        new Map([
          ['EPOCH', 'unset'],
          ['DATETIME', '2025-12-31T23:59:00Z'],
        ]),
        main,
      ),
    ).toBe(-60);
    expect(clockOffset(new Map([['DATETIME', 'unset']]), main)).toBeNull();
  });

  it('round-trips node-information files', () => {
    const text = formatNodeInformation(
      [
        ['ARCH', 'amd64'],
        ['TZ', 'unset'],
      ],
      [['NODE', 'n1']],
    );
    expect(text).toBe('ARCH=amd64\nTZ=unset\nNODE=n1\n');
    expect(parseNodeInformation(text).get('TZ')).toBe('unset');
  });

  it('judges health with every reason', () => {
    const ok = new Map([
      ['WORKDIR_EXISTS', 'yes'],
      ['WORKDIR_WRITABLE', 'yes'],
      ['TMP_WRITABLE', 'yes'],
      ['DISK_FREE_KB', String(5 * 1024 * 1024)],
      ['INODES_FREE', '100000'],
      ['LOAD', '1.0 1.0 1.0'],
      ['NUM_CPU', '2'],
    ]);
    expect(judgeHealth('n', ok, thresholds)).toEqual({ health: 'ok', reasons: [] });
    const bad = new Map([
      ...ok,
      ['WORKDIR', '/srv/w'],
      ['WORKDIR_EXISTS', 'no'],
      ['TMP_WRITABLE', 'no'],
      ['DISK_FREE_KB', '1024'],
      ['INODES_FREE', '5'],
      ['LOAD', '20.0 1 1'],
      ['HAVE_DPKG_BUILDPACKAGE', 'no'],
    ]);
    const v = judgeHealth('n', bad, thresholds);
    expect(v.health).toBe('degraded');
    expect(v.reasons).toEqual([
      'workdir /srv/w does not exist (create it: reprofarm node-setup n)',
      '/tmp is not writable',
      'only 1 MB free in /srv/w (minimum 1024 MB)',
      'only 5 inodes free in /srv/w (minimum 10000)',
      'load 20 on 2 CPUs is above 4 per CPU',
      'dpkg-buildpackage is missing (install dpkg-dev)',
    ]);
  });
});
