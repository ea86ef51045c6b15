/**
 * What the phases of a render (build.ts) share: the configuration, one DB
 * reader, the renderer and writer, where the builder keeps its own files,
 * and how it reports.
 */
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { SiteReader } from '../db/site.js';
import type { Renderer } from './render.js';
import type { SiteWriter } from './writer.js';

export type SiteEvent =
  | { type: 'mode'; mode: 'full' | 'incremental'; why: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'skipped'; what: string; why: string };

/** Where a render writes under site_dir. */
export interface SitePaths {
  siteDir: string;
  /** `<site_dir>/.reprofarm/`: the builder's own files (lock, state, caches, temporary folders), never served */
  bookkeepingDir: string;
  /** what the small pages keep between renders: schedules, charts, variation rows */
  indexDir: string;
  /** each suite/arch's part of reproducible.json, and what its status pages were written with */
  fragmentDir: string;
}

/** A suite/arch's part of reproducible.json, under SitePaths.fragmentDir. */
export function fragmentFile(fragmentDir: string, suite: string, arch: string): string {
  return join(fragmentDir, `${suite}_${arch}.json`);
}

export function sitePaths(siteDir: string): SitePaths {
  const bookkeepingDir = join(siteDir, '.reprofarm');
  return { siteDir, bookkeepingDir, indexDir: join(bookkeepingDir, 'index'), fragmentDir: join(bookkeepingDir, 'json') };
}

export interface RenderContext {
  config: Config;
  reader: SiteReader;
  renderer: Renderer;
  writer: SiteWriter;
  paths: SitePaths;
  emit: (e: SiteEvent) => void;
}

/** A suite and an architecture: a set of package, status and schedule pages of its own. */
export interface SuiteArch {
  suite: string;
  arch: string;
}

/** A suite/arch as a map key, the way SiteReader.scheduleVersions has it. */
export function suiteArchKey(suite: string, arch: string): string {
  return `${suite}\0${arch}`;
}

/** The configured suites and architectures as one string: a cache of pages kept for them is void when it differs. */
export function scopeOf(config: Config): string {
  return JSON.stringify([config.suites, config.architectures]);
}

/** Every configured suite/arch: each suite's architectures in turn, in the configuration's order. */
export function suiteArchs(config: Config): SuiteArch[] {
  return config.suites.flatMap((suite) => config.architectures.map((arch) => ({ suite, arch })));
}
