/**
 * reprofarm.yaml: found, read and parsed into `{ config, errors, warnings }`.
 * Every error names its key path; all errors are collected before anything
 * connects. Unknown keys are errors, so a typo is never silently ignored.
 *
 * The keys are one table, core/config/schema.ts (docs/configuration.md is
 * written from it); core/config/parse.ts walks it, and the checks across keys
 * are the named rules of core/config/rules.ts. This module is the entry point
 * the rest of reprofarm imports.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, ReprofarmError } from './errors.js';
import { embeddedDefaultYaml } from './config/defaults.js';
import { parseConfig, tooLarge } from './config/parse.js';
import { defaultValue, MAX_CONFIG_BYTES, MAX_CONFIG_ERRORS } from './config/schema.js';
import type { Config, Timers } from './config/types.js';

export type {
  BuildSettings,
  Config,
  ConfigResult,
  HealthThresholds,
  JobConfig,
  MailConfig,
  NotifyFilter,
  NotifySettings,
  NodeConfig,
  ServiceSettings,
  SiteSettings,
  SyncSettings,
  Timers,
  TransportKind,
  WebhookConfig,
  WorkerSettings,
} from './config/types.js';
export { embeddedDefaultYaml, hostDebianArch } from './config/defaults.js';
export { parseConfig } from './config/parse.js';
export { RESERVED_SUITES, WORKDIR_RE, workdirProblem } from './config/rules.js';
export { ARCH_RE, MAX_BUILD_COMMAND_BYTES, MAX_CONFIG_BYTES, MAX_CONFIG_ERRORS, NODE_NAME_RE, SUITE_RE } from './config/schema.js';

/** When the generated job definitions run each command, unless timers.* say otherwise. */
export const DEFAULT_TIMERS: Timers = {
  build: String(defaultValue('timers.build')),
  collect: String(defaultValue('timers.collect')),
  sync: String(defaultValue('timers.sync')),
  site: String(defaultValue('timers.site')),
  cleanup: String(defaultValue('timers.cleanup')),
  chroot: String(defaultValue('timers.chroot')),
};

/**
 * Find and load the configuration: `--config FILE`, else $REPROFARM_CONFIG, else
 * ./reprofarm.yaml, else the embedded default (relative to the working directory).
 * Throws ConfigError with every problem.
 */
export function loadConfig(opts: { path?: string | undefined; env?: NodeJS.ProcessEnv; cwd?: string } = {}): { config: Config; warnings: string[] } {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const explicit = opts.path ?? (env.REPROFARM_CONFIG || undefined);
  let text: string | { size: string };
  let file: string | null;
  if (explicit !== undefined) {
    file = resolve(cwd, explicit);
    try {
      text = readBounded(file);
    } catch (err) {
      throw new ReprofarmError(`cannot read configuration ${file}`, {
        cause: err,
        advice: opts.path ? 'check the --config path' : 'check $REPROFARM_CONFIG, or unset it to use ./reprofarm.yaml',
      });
    }
  } else if (existsSync(resolve(cwd, 'reprofarm.yaml'))) {
    file = resolve(cwd, 'reprofarm.yaml');
    text = readBounded(file);
  } else {
    file = null;
    text = embeddedDefaultYaml();
  }
  const source = file ?? 'embedded default';
  if (typeof text !== 'string') throw new ConfigError(source, [tooLarge(text.size)]);
  const r = parseConfig(text, source, file ? dirname(file) : cwd, file);
  if (!r.config) {
    const err = new ConfigError(source, r.errors);
    // ConfigError counts the lines it is given: say how many problems there were in all
    if (r.errorCount > r.errors.length) {
      err.message = err.message.replace(
        /^.*?configuration problems?:/,
        () => `${source}: ${r.errorCount} configuration problems (the first ${MAX_CONFIG_ERRORS} shown):`,
      );
    }
    throw err;
  }
  return { config: r.config, warnings: r.warnings };
}

/**
 * A configuration file's text, read only up to MAX_CONFIG_BYTES (/dev/zero or a FIFO
 * never ends); when there is more, its size (or "more than" the limit).
 */
function readBounded(file: string): string | { size: string } {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_CONFIG_BYTES) return { size: String(st.size) };
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > MAX_CONFIG_BYTES) return { size: `more than ${MAX_CONFIG_BYTES}` };
    }
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
