/** What a pair's build takes and gives: the pair, the options, the events it reports, its outcome. */
import type { NodeConfig } from '../core/config.js';
import type { Status } from '../core/statuses.js';
import type { Claim } from '../db/archive.js';
import type { NodeConnections } from './node-link.js';

export interface Pair {
  job: string;
  node1: NodeConfig;
  node2: NodeConfig;
}

export type BuildEvent =
  | { type: 'claimed'; claim: Claim; pair: Pair }
  | { type: 'build-start'; n: 1 | 2; node: string; claim: Claim }
  /** build n's sources are being downloaded, checked and unpacked on its node ahead of its turn */
  | { type: 'prepare-start'; n: 1 | 2; node: string; claim: Claim }
  | { type: 'build-done'; n: 1 | 2; node: string; result: string; durationS: number }
  | { type: 'retry'; what: string }
  | { type: 'recorded'; claim: Claim; status: Status; reason: string | null; durationS: number }
  | { type: 'requeued'; claim: Claim; reason: string };

export type PairOutcome =
  | { kind: 'idle'; reason: string }
  | { kind: 'recorded'; claim: Claim; status: Status; reason: string | null; buildId: number; report: string | null }
  | { kind: 'requeued'; claim: Claim; reason: string };

export interface BuildOptions {
  onEvent?: (e: BuildEvent) => void;
  signal?: AbortSignal;
  /** called with the claim when `signal` stopped a build, before the claim goes back to the schedule */
  onAbort?: (claim: Claim) => Promise<unknown>;
  connectTimeoutS?: number;
  /** connections shared from one build to the next (the worker's); else they are made and closed per build */
  connections?: NodeConnections;
}

/** The .dsc a claim builds from, as nodes reach it, with the SHA256 the signed Sources index gave. */
export interface DscRef {
  url: string;
  sha256: string;
}
