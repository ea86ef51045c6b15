/**
 * reprofarm jobs: Jenkins Job Builder YAML checked by jenkins-jobs test,
 * systemd units by systemd-analyze verify and calendar, a crontab by crontab -n;
 * the generated commands run for real (paths with a space and a %).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { cronMatches, parseCron, type CronSpec } from '../../core/cron.js';
import { BIN, runCli } from '../helpers/cli.js';

/** a real tool, or a failure that says which Debian package has it */
function tool(name: string, pkg: string, args: string[], opts: { cwd?: string } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(name, args, { encoding: 'utf8', ...opts });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${name} is not installed: apt-get install ${pkg}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
let cfg: string;

beforeAll(() => {
  // a space and a % in the path: quoting for systemd, cron and sh all matter
  dir = join(mkdtempSync(join(tmpdir(), 'rf-jobs-')), 'farm 50%');
  mkdirSync(dir);
  chmodSync(join(dir, '..'), 0o755);
  cfg = join(dir, 'reprofarm.yaml');
  writeFileSync(
    cfg,
    [
      'state_dir: ./state',
      'mirror: http://127.0.0.1:9/debian',
      'nodes:',
      '  a: { transport: local }',
      '  b: { transport: local }',
      '  c: { transport: local }',
      'jobs:',
      '  reproducible_build_amd64_1: { nodes: [a, b] }',
      '  reproducible_build_amd64_2: { nodes: [b, c] }',
      'timers:',
      "  collect: '*/20 * * * *'",
      "  cleanup: '5 3 1,15 * 1-5'",
      'service: { stop_timeout: 120 }',
      '',
    ].join('\n'),
  );
});

describe('reprofarm jobs --format jjb', () => {
  it('writes YAML that jenkins-jobs test turns into one timed job per pair and one per periodic command', async () => {
    const out = join(dir, 'jjb');
    const r = await runCli(['--config', cfg, 'jobs', '--format', 'jjb', '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual(['reprofarm-jobs.yaml']);
    const xml = join(dir, 'jjb-xml');
    const t = tool('jenkins-jobs', 'jenkins-job-builder', ['test', join(out, 'reprofarm-jobs.yaml'), '-o', xml]);
    expect(t.code, t.stderr).toBe(0);
    expect(readdirSync(xml).sort()).toEqual([
      'reproducible_build_amd64_1',
      'reproducible_build_amd64_2',
      'reprofarm_cleanup',
      'reprofarm_collect',
      'reprofarm_site',
      'reprofarm_sync',
    ]);
    const job = readFileSync(join(xml, 'reproducible_build_amd64_2'), 'utf8');
    expect(job).toMatch(/<concurrentBuild>false<\/concurrentBuild>/);
    expect(job).toMatch(/<hudson\.triggers\.TimerTrigger>\s*<spec>\* \* \* \* \*<\/spec>/);
    expect(job).toMatch(/<unstableReturn>2<\/unstableReturn>/);
    expect(job).toContain(`exec ${process.execPath} ${BIN} --config '${cfg}' build b c`);
    expect(readFileSync(join(xml, 'reprofarm_cleanup'), 'utf8')).toMatch(/<spec>5 3 1,15 \* 1-5<\/spec>/);
    expect(readFileSync(join(xml, 'reprofarm_site'), 'utf8')).toMatch(/ site\n/);
    // the collect job's shell step, as Jenkins would run it
    const collect = /<command>([\s\S]*?)<\/command>/.exec(readFileSync(join(xml, 'reprofarm_collect'), 'utf8'))?.[1] ?? '';
    const run = spawnSync(
      'sh',
      [
        '-c',
        collect
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&')
          .replace(/&apos;/g, "'")
          .replace(/&quot;/g, '"'),
      ],
      { encoding: 'utf8', cwd: '/' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(dir, 'state', 'node-information', 'c'))).toBe(true);
  });
});

/** the times `systemd-analyze calendar` says an expression fires, as local Dates */
function elapses(expr: string, n: number): Date[] {
  const t = tool('systemd-analyze', 'systemd', ['calendar', `--iterations=${n}`, expr]);
  expect(t.code, `${expr}: ${t.stderr}`).toBe(0);
  return [...t.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/g)].map(
    (m) => new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

/** the first n minutes from `from` (included) at which cron would fire */
function cronTimes(spec: CronSpec, from: Date, n: number): Date[] {
  const out: Date[] = [];
  for (let d = new Date(from); out.length < n; d = new Date(d.getTime() + 60_000)) if (cronMatches(spec, d)) out.push(d);
  return out;
}

describe('reprofarm jobs --format systemd', () => {
  it('writes one file per unit that systemd-analyze verify accepts without a warning, timers firing when cron would', async () => {
    const out = join(dir, 'units');
    const r = await runCli(['--config', cfg, 'jobs', '--format', 'systemd', '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    const names = readdirSync(out).sort();
    expect(names).toEqual([
      'reprofarm-cleanup.service',
      'reprofarm-cleanup.timer',
      'reprofarm-collect.service',
      'reprofarm-collect.timer',
      'reprofarm-site.service',
      'reprofarm-site.timer',
      'reprofarm-sync.service',
      'reprofarm-sync.timer',
      'reprofarm-worker.service',
    ]);
    const v = tool('systemd-analyze', 'systemd', ['verify', ...names.map((n) => join(out, n))]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr, 'no warnings either').toBe('');
    const worker = readFileSync(join(out, 'reprofarm-worker.service'), 'utf8');
    const esc = (s: string): string => s.replace(/%/g, '%%');
    expect(worker).toContain(`ExecStart=${process.execPath} ${BIN} --config "${esc(cfg)}" worker\n`);
    expect(worker).toMatch(/^Type=simple$/m);
    expect(worker).toMatch(/^Restart=always$/m);
    expect(worker).toMatch(/^KillSignal=SIGTERM$/m);
    expect(worker).toMatch(/^KillMode=mixed$/m);
    expect(worker).toMatch(/^TimeoutStopSec=120$/m);
    expect(worker).toContain(`User=${userInfo().username}\n`);
    expect(worker).toContain(`WorkingDirectory=${esc(dir)}\n`);
    expect(readFileSync(join(out, 'reprofarm-sync.service'), 'utf8')).toMatch(/^Type=oneshot$/m);
    for (const [cmd, cron] of [
      ['collect', '*/20 * * * *'],
      ['sync', '17 */6 * * *'],
      ['site', '*/10 * * * *'],
      ['cleanup', '5 3 1,15 * 1-5'],
    ] as const) {
      const timer = readFileSync(join(out, `reprofarm-${cmd}.timer`), 'utf8');
      expect(timer).toMatch(new RegExp(`^Unit=reprofarm-${cmd}\\.service$`, 'm'));
      const exprs = [...timer.matchAll(/^OnCalendar=(.*)$/gm)].map((m) => m[1] ?? '');
      expect(exprs.length, cmd).toBeGreaterThan(0);
      // the union of the expressions' next firings is what cron would do from the first of them on
      const got = [...new Set(exprs.flatMap((e) => elapses(e, 12)).map((d) => d.getTime()))].sort((a, b) => a - b).slice(0, 12);
      const spec = parseCron(cron) as CronSpec;
      expect(
        got.map((t) => new Date(t).toISOString()),
        `${cmd}: ${exprs.join(' | ')}`,
      ).toEqual(cronTimes(spec, new Date(got[0]!), 12).map((d) => d.toISOString()));
    }
    // without --output: every unit on stdout, each after a separator line
    const all = await runCli(['--config', cfg, 'jobs', '--format', 'systemd']);
    expect(all.code).toBe(0);
    expect([...all.stdout.matchAll(/^# ==> (\S+) <==$/gm)].map((m) => m[1]).sort()).toEqual(names);
  });
});

describe('reprofarm jobs --format cron', () => {
  it('writes a crontab that crontab -n accepts; every line is 5 fields and a command that runs', async () => {
    const out = join(dir, 'cron');
    const r = await runCli(['--config', cfg, '--json', 'jobs', '--format', 'cron', '--output', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ format: 'cron', files: [{ name: 'reprofarm.crontab', path: join(out, 'reprofarm.crontab') }] });
    const file = join(out, 'reprofarm.crontab');
    const n = tool('crontab', 'cron', ['-n', file]);
    expect(n.code, n.stderr).toBe(0);
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const env = lines.filter((l) => /^[A-Z]+=/.test(l));
    expect(env).toEqual(['SHELL=/bin/sh', expect.stringMatching(/^PATH=/)]);
    const entries = lines
      .filter((l) => !env.includes(l))
      .map((l) => {
        const m = /^(\S+ \S+ \S+ \S+ \S+) (.+)$/.exec(l);
        expect(m, l).not.toBeNull();
        expect(typeof parseCron(m![1]!), l).toBe('object');
        // cron turns an unescaped % into a newline; ours are all escaped
        expect(m![2]!.replace(/\\%/g, ''), l).not.toContain('%');
        return { timer: m![1]!, command: m![2]!.replace(/\\%/g, '%') };
      });
    expect(entries.map((e) => e.timer)).toEqual(['* * * * *', '* * * * *', '*/20 * * * *', '17 */6 * * *', '*/10 * * * *', '5 3 1,15 * 1-5']);
    expect(entries[0]!.command).toContain(`--config '${cfg}' --quiet build a b`);
    // the collect line as cron runs it
    const collect = entries.find((e) => e.command.endsWith(' collect'))!;
    const run = spawnSync('/bin/sh', ['-c', collect.command], { encoding: 'utf8', cwd: '/' });
    expect(run.status, run.stderr).toBe(0);
    // a build line while that job's lock is held: flock -n gives up at once, no second build on the pair
    const lock = join(dir, 'state', 'locks', 'build-reproducible_build_amd64_1.lock');
    const holder = spawn('flock', [lock, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((res) => setTimeout(res, 300));
      const t0 = Date.now();
      const busy = spawnSync('/bin/sh', ['-c', entries[0]!.command], { encoding: 'utf8' });
      expect(busy.status).toBe(1);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      holder.kill();
    }
  });
});

describe('reprofarm jobs with the chroot backend', () => {
  it('adds chroot update on timers.chroot to each format; the plain backend has none', async () => {
    const chrootCfg = join(dir, 'chroot.yaml');
    writeFileSync(chrootCfg, `${readFileSync(cfg, 'utf8')}build: { backend: chroot }\n`);
    const cron = await runCli(['--config', chrootCfg, 'jobs', '--format', 'cron']);
    expect(cron.code, cron.stderr).toBe(0);
    expect(cron.stdout).toMatch(/^23 4 \* \* \* .*flock -n .*chroot\.lock.* --quiet chroot update$/m);
    const units = join(dir, 'units-chroot');
    const sd = await runCli(['--config', chrootCfg, 'jobs', '--format', 'systemd', '--output', units]);
    expect(sd.code, sd.stderr).toBe(0);
    expect(readFileSync(join(units, 'reprofarm-chroot.service'), 'utf8')).toMatch(/^ExecStart=.* chroot update$/m);
    expect(readFileSync(join(units, 'reprofarm-chroot.timer'), 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 04:23:00$/m);
    const plain = await runCli(['--config', cfg, 'jobs', '--format', 'cron']);
    expect(plain.stdout).not.toMatch(/chroot update/);
  });
});

describe('reprofarm jobs: usage', () => {
  it('--help lists the options; a missing or unknown format is a usage error; no configuration file is an error', async () => {
    const h = await runCli(['jobs', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/--format FORMAT +jjb, systemd or cron \(required\)/);
    expect(h.stdout).toMatch(/--output DIR +.*\(default: print them on stdout\)/);
    for (const [args, re] of [
      [['jobs'], /needs --format/],
      [['jobs', '--format', 'systemdd'], /did you mean systemd\?/],
      [['jobs', '--format', 'cron', '--ouput', 'x'], /did you mean --output\?/],
      [['jobs', '--format', 'cron', 'extra'], /takes no arguments/],
    ] as const) {
      const r = await runCli(['--config', cfg, ...args]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(re);
    }
    const none = await runCli(['jobs', '--format', 'cron'], { cwd: mkdtempSync(join(tmpdir(), 'rf-jobs-none-')) });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/job definitions need a configuration file/);
    const badTimer = join(dir, 'bad.yaml');
    writeFileSync(badTimer, `${readFileSync(cfg, 'utf8')}`.replace("collect: '*/20 * * * *'", "collect: 'every 20 minutes'"));
    const b = await runCli(['--config', badTimer, 'jobs', '--format', 'cron']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/timers\.collect: "every 20 minutes" must have 5 fields/);
  });
});
