/** What a configuration is once read: the shapes the rest of reprofarm uses (core/config.ts re-exports them). */
export type TransportKind = 'ssh' | 'local';

export interface NodeConfig {
  name: string;
  transport: TransportKind;
  /** ssh only */
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHosts: string;
  /** optional: else the node's collected ARCH fact */
  arch: string | undefined;
  /** taken out of service by the operator: no builds */
  offline: boolean;
  /** absolute */
  workdir: string;
}

export interface JobConfig {
  name: string;
  nodes: [string, string];
  /** variations that differ from the defaults, per build (keys as in core/protocol.ts VARIATIONS) */
  variations: { build1: Record<string, string>; build2: Record<string, string> };
}

export interface HealthThresholds {
  minFreeDiskMb: number;
  minFreeInodes: number;
  maxLoadPerCpu: number;
}

export interface Config {
  /** the file it came from, or null for the embedded default */
  file: string | null;
  stateDir: string;
  siteDir: string;
  mirror: string;
  mirrorKeyring: string;
  mirrorVerify: boolean;
  suites: string[];
  architectures: string[];
  nodes: Map<string, NodeConfig>;
  jobs: Map<string, JobConfig>;
  collect: { concurrency: number; timeout: number; retentionDays: number; interval: number };
  health: HealthThresholds;
  schedule: { maxPerArch: number; minAgeDays: number; retryFailedDays: number; manualDailyLimit: number; defaultPriority: number };
  /** source packages never built: status blacklisted */
  blacklist: Set<string>;
  /** package_sets: set name -> its source packages (empty: no sets) */
  packageSets: Map<string, Set<string>>;
  build: BuildSettings;
  /** when the generated job definitions run each command: cron expressions */
  timers: Timers;
  /** how generated services and jobs run reprofarm */
  service: ServiceSettings;
  cleanup: { resultsRetentionDays: number };
  site: SiteSettings;
  /** a reproducible-notes checkout read on each site render */
  notesDir?: string;
  worker: WorkerSettings;
  sync: SyncSettings;
  chroot: ChrootSettings;
  culprit: CulpritSettings;
  notify: NotifySettings;
}

/** a destination's opt-in filters: none given, every event; else those matching any */
export interface NotifyFilter {
  packages: string[];
  maintainers: string[];
  sets: string[];
}

export interface WebhookConfig extends NotifyFilter {
  url: string;
  /** absolute; read (and its mode checked) when notifications are delivered */
  secretFile: string;
  /** its key path, for messages: notify.webhooks[0] */
  at: string;
}

export interface MailConfig extends NotifyFilter {
  sendmail: string;
  /** empty: no mail */
  to: string[];
  from: string | undefined;
}

/** notifications of status changes (notify/) */
export interface NotifySettings {
  webhooks: WebhookConfig[];
  mail: MailConfig;
  /** where the dashboard is served, for links in messages; else links are relative to the site's root */
  siteUrl: string | undefined;
  maxMessagesPerHour: number;
  maxEventsPerMessage: number;
  /** seconds */
  timeout: number;
  retryBase: number;
  retryMax: number;
  keepDays: number;
}

/** the culprit search's budget: follow-up builds per day (farm-wide) and per package version */
export interface CulpritSettings {
  maxBuildsPerDay: number;
  maxBuildsPerPackage: number;
}

/** the chroot backend's tarballs: where they come from and when they are made again */
export interface ChrootSettings {
  /** the mirror as nodes reach it, for mmdebstrap and the builds' apt */
  mirror: string;
  /** on the main node; copied to each node */
  keyring: string;
  /** overlay suite -> the suite whose chroot it extends */
  base: Record<string, string>;
  maxAgeDays: number;
}

/** how large a mirror's Sources index may become while sync reads it; past a limit the suite is refused */
export interface SyncSettings {
  /** the decompressed index may be at most this many times the size of the compressed file */
  maxExpansion: number;
  maxLineBytes: number;
  maxStanzaBytes: number;
}

export interface WorkerSettings {
  /** seconds to sleep when nothing is scheduled */
  idleSleep: number;
  /** seconds running builds may take to finish after SIGTERM */
  grace: number;
  /** the longest wait, seconds, before a job whose nodes failed tries again (it doubles from 30 s) */
  backoffMax: number;
}

export interface SiteSettings {
  /** how many of a job's latest builds the variation table counts */
  recentBuilds: number;
  /** node facts a job's two nodes are expected to differ in (else the job is flagged) */
  varyFacts: string[];
}

export interface Timers {
  /** one build per job (crontab, Jenkins); systemd runs the worker instead */
  build: string;
  collect: string;
  sync: string;
  site: string;
  cleanup: string;
  /** `chroot update`, with build.backend: chroot only */
  chroot: string;
}

export interface ServiceSettings {
  /** the user the services and cron jobs run as */
  user: string;
  /** absolute path of the node binary */
  node: string;
  /** seconds the worker gets to stop after SIGTERM */
  stopTimeout: number;
}

export interface BuildSettings {
  /** run in the unpacked source tree on the node */
  command: string;
  /** core/protocol.ts BACKENDS */
  backend: 'plain' | 'chroot';
  /** seconds */
  timeout1: number;
  timeout2: number;
  /** the mirror as nodes reach it (default: mirror) */
  nodeMirror: string;
  diffoscopeTimeout: number;
  diffoscopeMaxBytes: number;
  /** at most this many bytes of results are fetched from one build (all its files together) */
  maxResultBytes: number;
  /** each of status, SHA256SUMS, .changes and .buildinfo: larger ones are refused before they are fetched (build.max_metadata_kb) */
  maxMetadataBytes: number;
  /** failures of one kind after which a package version is recorded and not retried (build.max_attempts) */
  maxAttempts: number;
}

export interface ConfigResult {
  config: Config | undefined;
  /** at most MAX_CONFIG_ERRORS, then one "... and N more" */
  errors: string[];
  /** how many errors there were in all */
  errorCount: number;
  warnings: string[];
}

/** A YAML mapping, as read. */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
