/**
 * core/protocol.ts and builder/node-build.sh say the same: the script's exit
 * codes, its list of variations and work-order keys, and its value checks
 * (run in the script itself, sourced as a library) agree with the module.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_EXIT, VARIATIONS, WORK_ORDER_KEYS } from '../../core/protocol.js';
import { ROOT } from '../helpers/cli.js';
import { assembleNodeScript } from '../../builder/node-script.js';

const SCRIPT = join(ROOT, 'builder', 'node-build.sh');
const text = readFileSync(SCRIPT, 'utf8');

/** node-build.sh's check_variation on each KEY VALUE: true where it accepts. */
function shellAccepts(pairs: ReadonlyArray<readonly [string, string]>): boolean[] {
  const body = pairs.map(([k, v]) => `if check_variation ${k} '${v.replace(/'/g, "'\\''")}'; then echo y; else echo n; fi`).join('\n');
  const r = spawnSync('sh', ['-c', `. "$0"\n${body}`, SCRIPT], { env: { PATH: process.env.PATH, REPROFARM_NODE_BUILD_LIB: '1' }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l === 'y');
}

describe('the build protocol, in core/protocol.ts and node-build.sh', () => {
  it('names the same exit codes', () => {
    const inScript: Record<string, number> = Object.fromEntries([...text.matchAll(/^EX_([A-Z0-9]+)=(\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
    expect(inScript).toEqual({
      USAGE: NODE_EXIT.usage,
      TAKEN: NODE_EXIT.taken,
      E404: NODE_EXIT.E404,
      MISMATCH: NODE_EXIT.sourceMismatch,
      FTBFS: NODE_EXIT.FTBFS,
      TIMEOUT: NODE_EXIT.timeout,
      ERROR: NODE_EXIT.error,
      DEPWAIT: NODE_EXIT.depwait,
      STALE: NODE_EXIT.staleScript,
    });
  });

  it('lists the same variations, in order, and reads the work-order keys the main node writes', () => {
    expect(/^VARIATION_KEYS='([A-Z_ ]+)'$/m.exec(text)?.[1]?.split(' ')).toEqual(VARIATIONS.map((v) => v.key));
    const read = /^\t+(SOURCE\|[A-Z0-9_|]+)\) eval/m.exec(text)?.[1]?.split('|') ?? [];
    // JOB and NODE are for people reading the order: the script takes the node from its environment
    expect(read.sort()).toEqual(WORK_ORDER_KEYS.filter((k) => k !== 'JOB' && k !== 'NODE').sort());
  });

  it('is installed as one file: its parts inline, and it parses', () => {
    const one = assembleNodeScript().toString('utf8');
    expect(one).not.toMatch(/@@INCLUDE/);
    for (const fn of ['check_variation()', 'chroot_prepare()', 'main()']) expect(one).toContain(fn);
    const r = spawnSync('sh', ['-n'], { input: one, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('accepts every default, and refuses what the module refuses', () => {
    const cases: Array<{ key: string; value: string; accepted: boolean }> = [];
    for (const v of VARIATIONS) {
      for (const value of [v.build1, v.build2]) cases.push({ key: v.key, value, accepted: true });
      for (const value of v.refused) cases.push({ key: v.key, value, accepted: false });
    }
    for (const c of cases) expect(VARIATIONS.find((v) => v.key === c.key)?.re.test(c.value), `${c.key}=${c.value} in core/protocol.ts`).toBe(c.accepted);
    const sh = shellAccepts(cases.map((c) => [c.key, c.value] as const));
    cases.forEach((c, i) => expect(sh[i], `${c.key}=${JSON.stringify(c.value)} in node-build.sh`).toBe(c.accepted));
  });
});
