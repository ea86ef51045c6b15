/**
 * Scheduling by hand, as policy: a name Debian allows, a package that is in
 * the suite, not removed, not blacklisted and built for the architecture. All
 * or nothing: any refusal schedules none.
 */
import type { Config } from '../core/config.js';
import { ReprofarmError } from '../core/errors.js';
import { DailyLimitError, scheduleManual, sourceEntry } from '../db/archive.js';
import type { FarmDb } from '../db/index.js';
import { appliesTo } from './arch.js';
import { sourceNameProblem } from './version.js';

/** Names that are not source package names: refused before the DB is opened. */
export function badNames(pkgs: readonly string[]): Array<readonly [string, string]> {
  return pkgs.map((p) => [p, sourceNameProblem(p)] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
}

/** Why each package cannot be scheduled in SUITE/ARCH (none: all can). */
export function scheduleProblems(db: FarmDb, config: Config, suite: string, arch: string, pkgs: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const p of pkgs) {
    const row = sourceEntry(db, suite, p);
    if (!row) problems.push(`${p} is not in ${suite} (run reprofarm sync first if it is new)`);
    else if (row.removed_at) problems.push(`${p} was removed from ${suite} on ${row.removed_at}`);
    else if (config.blacklist.has(p)) problems.push(`${p} is blacklisted`);
    else if (!appliesTo(row.architecture, arch)) problems.push(`${p} is not for ${arch} (Architecture: ${row.architecture})`);
  }
  return problems;
}

/** Schedule the packages by hand, all or nothing, within the daily limit. */
export function scheduleByHand(
  db: FarmDb,
  config: Config,
  req: { suite: string; arch: string; pkgs: readonly string[]; priority: number; by: string },
): ReturnType<typeof scheduleManual> {
  const pkgs = [...new Set(req.pkgs)];
  const problems = scheduleProblems(db, config, req.suite, req.arch, pkgs);
  if (problems.length > 0) throw new ReprofarmError(`refused, nothing scheduled:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  try {
    return scheduleManual(
      db,
      pkgs.map((p) => ({ suite: req.suite, arch: req.arch, package: p })),
      { priority: req.priority, by: req.by, now: new Date(), dailyLimit: config.schedule.manualDailyLimit },
    );
  } catch (err) {
    if (err instanceof DailyLimitError)
      throw new ReprofarmError(`refused, nothing scheduled: ${err.message}`, { advice: 'try again later, or raise schedule.manual_daily_limit' });
    throw err;
  }
}
