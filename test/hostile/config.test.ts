/**
 * A configuration must not accept what the rest of reprofarm refuses: a value
 * node-build.sh or node-wrapper.sh refuses on the node would fail (or give
 * back) every build for ever, a build command too long for the kernel makes
 * every build FTBFS, and a number where a path is meant must not become a
 * path. A hostile or careless file (a million keys, megabytes in one value,
 * a YAML alias bomb) must be refused in bounded time, memory and output.
 * Real parts: the loader (loadConfig from a file), the installed CLI, and
 * builder/node-build.sh and builder/node-wrapper.sh run for what they refuse.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';
import { VARIATION_KEYS, variationValues } from '../../core/protocol.js';
import { ROOT, runCli } from '../helpers/cli.js';

/** the limits the config keeps to (core/config.ts): errors shown one by one, file size, build command bytes */
const MAX_CONFIG_ERRORS = 50;
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_BUILD_COMMAND_BYTES = 8192;

const NODE_BUILD = join(ROOT, 'builder', 'node-build.sh');
const NODE_WRAPPER = join(ROOT, 'builder', 'node-wrapper.sh');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'rf-hostile-config-'));
  dirs.push(d);
  return d;
}

const TWO_LOCAL = ['nodes:', '  a: { transport: local }', '  b: { transport: local }', 'jobs:', '  j: { nodes: [a, b] }'];

/** Load `text` from a file the way the CLI does; the problems it is refused with ([] when it loads). */
function problems(text: string, dir = tmp()): string[] {
  const file = join(dir, 'reprofarm.yaml');
  writeFileSync(file, text);
  try {
    loadConfig({ path: file, env: {} });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

/** The problems of a config with two local nodes a and b and a job, plus `extra` lines. */
function problemsWith(...extra: string[]): string[] {
  return problems([...TWO_LOCAL, ...extra, ''].join('\n'));
}

/** The problems of a config whose job j (on the local nodes a and b) has these lines under its nodes: line. */
function problemsOfJob(...jobLines: string[]): string[] {
  return problems(['nodes:', '  a: { transport: local }', '  b: { transport: local }', 'jobs:', '  j:', '    nodes: [a, b]', ...jobLines, ''].join('\n'));
}

/** What node-build.sh says of a workdir: refused (exit 2, "REPROFARM_WORKDIR ...") or not (it goes on, and finds no work order). */
function nodeBuildRefusesWorkdir(workdir: string): boolean {
  const r = spawnSync('sh', [NODE_BUILD, '1', 'bookworm', 'amd64', 'hello', '1.0-1'], {
    env: { PATH: process.env.PATH, REPROFARM_NODE: 'a', REPROFARM_WORKDIR: workdir },
    encoding: 'utf8',
  });
  if (r.status === 2) expect(r.stderr).toMatch(/REPROFARM_WORKDIR/);
  else expect(r.status, r.stderr).toBe(70);
  return r.status === 2;
}

/** What node-wrapper.sh (the forced command) says of a workdir: refused as such, or refused only later, for the command. */
function wrapperRefusesWorkdir(workdir: string): boolean {
  const r = spawnSync('sh', [NODE_WRAPPER, 'a', workdir], {
    env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: 'no-such-command' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(126);
  return /WORKDIR in the forced command/.test(r.stderr);
}

/** What node-build.sh says of one variation in a work order: refused (exit 2, "work order variation KEY") or not (then it fails to download: 71). */
function nodeBuildRefusesVariation(key: string, value: string): boolean {
  const workdir = tmp();
  const order = [
    'SOURCE=hello',
    'VERSION=1.0-1',
    'SUITE=bookworm',
    'ARCH=amd64',
    'BUILD=1',
    'DSC_URL=file:///nonexistent/hello_1.0-1.dsc',
    `DSC_SHA256=${'0'.repeat(64)}`,
    'BUILD_COMMAND=true',
    'BACKEND=plain',
    'MIN_FREE_MB=1',
    'TIMEOUT=10',
    // every variation's value (node-build.sh keeps no defaults), this one replaced
    ...Object.entries({ ...variationValues(1), [key]: value }).map(([k, v]) => `V_${k}=${v}`),
    '',
  ].join('\n');
  const r = spawnSync('sh', [NODE_BUILD, 'prepare1', 'bookworm', 'amd64', 'hello', '1.0-1'], {
    env: { PATH: process.env.PATH, REPROFARM_NODE: 'a', REPROFARM_WORKDIR: workdir, REPROFARM_ORDER_STDIN: '1' },
    input: order,
    encoding: 'utf8',
  });
  if (r.status === 2) expect(r.stderr).toMatch(new RegExp(`work order variation ${key} `));
  else expect(r.status, r.stderr).toBe(71);
  return r.status === 2;
}

describe('values the node scripts refuse are refused when the config loads', () => {
  it('a local workdir with a space, which node-build.sh refuses, is refused when the config loads', () => {
    const dir = tmp();
    const e = problems(['nodes:', '  a: { transport: local, workdir: ./my nodes/a }', '  b: { transport: local }', ''].join('\n'), dir);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^nodes\.a\.workdir: ".*my nodes\/a" has a character node-build\.sh refuses \(" "\); use only letters, digits and \. _ \/ \+ -/);
    expect(nodeBuildRefusesWorkdir(join(dir, 'my nodes', 'a'))).toBe(true);
  });

  it('`reprofarm collect` with a local workdir with a space exits 1 naming the key, before it collects anything', async () => {
    const dir = tmp();
    const file = join(dir, 'reprofarm.yaml');
    writeFileSync(file, ['state_dir: ./state', 'nodes:', '  a: { transport: local, workdir: "./my nodes/a" }', '  b: { transport: local }', ''].join('\n'));
    const r = await runCli(['--config', file, 'collect'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `error: ${file}: 1 configuration problem:\n  - nodes.a.workdir: "${dir}/my nodes/a" has a character node-build.sh refuses (" ")`,
    );
    expect(existsSync(join(dir, 'my nodes'))).toBe(false);
    expect(existsSync(join(dir, 'state', 'node-information'))).toBe(false);
  });

  it("a state_dir with a space, under which the local nodes' default workdirs lie and node-build.sh refuses to build, is warned of when the config loads", () => {
    const dir = tmp();
    const file = join(dir, 'reprofarm.yaml');
    writeFileSync(file, ['state_dir: ./my state', ...TWO_LOCAL, ''].join('\n'));
    // an error would refuse every command (jobs, site, status) for what only stops builds on those nodes
    const { warnings } = loadConfig({ path: file, env: {} });
    expect(warnings).toEqual([
      `state_dir: "${dir}/my state" has a character node-build.sh refuses (" "); use only letters, digits and . _ / + - (it is used in commands on the node): ` +
        'the local nodes a, b keep their default workdir under it (state_dir/nodes/<NAME>), where node-build.sh refuses to build; set nodes.<NAME>.workdir for them',
    ]);
    expect(nodeBuildRefusesWorkdir(join(dir, 'my state', 'nodes', 'a'))).toBe(true);
  });

  it('config and node-build.sh agree on every workdir: whatever the config accepts, node-build.sh accepts', () => {
    const dir = tmp();
    const candidates = ['ok', 'a+b.c_d-e', 'a b', "it's", 'tab\there', 'é', 'a$b', 'a;b', 'a*b', 'x/../y', '..'].map((w) => `${dir}/${w}`);
    for (const w of candidates) {
      const text = ['nodes:', `  a: { transport: local, workdir: ${JSON.stringify(w)} }`, '  b: { transport: local }', ''].join('\n');
      const configRefuses = problems(text).some((p) => p.startsWith('nodes.a.workdir: '));
      // the config resolves a local workdir: x/../y becomes y, which node-build.sh accepts too
      const onNode = w.endsWith('/x/../y') ? `${dir}/y` : w.endsWith('/..') ? dir.replace(/\/[^/]+$/, '') : w;
      expect(configRefuses, w).toBe(nodeBuildRefusesWorkdir(onNode));
    }
    for (const w of ['/srv/a b', '/srv/x/../y', '/srv/é', 'relative']) {
      const text = ['nodes:', `  a: { host: h, user: u, identity_file: k, workdir: ${JSON.stringify(w)} }`, '  b: { transport: local }', ''].join('\n');
      expect(
        problems(text).filter((p) => p.startsWith('nodes.a.workdir: ')),
        w,
      ).toHaveLength(1);
    }
  });

  it("an ssh workdir node-wrapper.sh's forced command refuses (a trailing /, //, /./, / itself) is refused when the config loads", () => {
    const dir = tmp();
    const cases = [`${dir}/ws/`, `${dir}//ws`, `${dir}/./ws`, `${dir}/ws/.`, '/', `${dir}/ws`, `${dir}/w.s/x`];
    for (const w of cases) {
      const text = ['nodes:', `  a: { host: h, user: u, identity_file: k, workdir: ${JSON.stringify(w)} }`, '  b: { transport: local }', ''].join('\n');
      const e = problems(text).filter((p) => p.startsWith('nodes.a.workdir: '));
      expect(e.length === 1, `${w}: ${e.join('; ')}`).toBe(wrapperRefusesWorkdir(w));
    }
    const e = problems(['nodes:', `  a: { host: h, user: u, identity_file: k, workdir: ${dir}/ws/ }`, '  b: { transport: local }', ''].join('\n'));
    expect(e).toEqual([
      `nodes.a.workdir: "${dir}/ws/" is not a plain absolute path: no "//", "." or ".." parts and no "/" at the end (node-wrapper.sh, the forced command, refuses them); write "${dir}/ws"`,
    ]);
  });

  it("an ssh workdir too long for node-wrapper.sh's 4096-character command limit is refused when the config loads", () => {
    const w = `/srv/${'w'.repeat(300)}`;
    const e = problems(['nodes:', `  c: { host: h, user: u, identity_file: k, workdir: ${w} }`, '  b: { transport: local }', ''].join('\n')).filter((p) =>
      p.startsWith('nodes.c.workdir'),
    );
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/is 305 characters long; at most 200/);
    expect(e[0]!.length).toBeLessThan(400);
  });

  it('a node named "sources", whose work orders would share node-build.sh\'s reproducible-builds/sources folder, is refused', () => {
    expect(problems(['nodes:', '  sources: { transport: local }', '  b: { transport: local }', ''].join('\n'))).toEqual([
      'nodes.sources: "sources" cannot be a node name: node-build.sh keeps the downloaded sources in WORKDIR/reproducible-builds/sources, beside each node\'s folder',
    ]);
  });

  it('a variation node-build.sh refuses (HOME or PATH with ".." inside a name) is refused when the config loads, and config and node-build.sh agree on every variation', () => {
    const values: Record<string, Array<string | number>> = {
      TZ: ['Etc/GMT-14', 'a b'],
      DATE: ['+398 days +6 hours', '@1700000000', '2024-01-01 12:00:00', 'a;b'],
      LANG: ['et_EE.UTF-8', 'a b'],
      LC_ALL: ['unset', 'C.UTF-8', 'a/b'],
      LANGUAGE: ['et_EE:et', 'a b'],
      TERM: ['xterm-256color', 'unset', 'a/b'],
      COLUMNS: [80, 'unset', '8x'],
      UMASK: ['0027', '022'],
      HOME: ['/home/x', '/a..b', '/a/../b', 'rel'],
      PATH: ['/usr/bin:/bin', '/usr/bin:/a..b', '/usr/bin:/../etc'],
      CAPTURE_ENVIRONMENT: ['I capture it', 'unset', 'a;b'],
      HOSTNAME: ['node', 'i-capture', '-x', 'a.b'],
      DOMAINNAME: ['node', 'a.b', 'a b'],
      PARALLEL: ['node', 'node+1', 4, 'x'],
      BUILD_USER: ['builder:3333:a builder,room 1:/bin/sh', 'root:0::/bin/sh', 'b:3333:x;y:/bin/sh', 'b:3333::/bin/../sh', 'b:3333:a:b:/bin/sh'],
      BINSH: ['dash', 'bash', 'zsh'],
      NICE: [0, 19, 20, -1],
      NOCHECK: ['nocheck', 'unset', 'yes'],
      KERNEL_PERSONALITY: ['native', 'linux32 --uname-2.6', 'linux64 --uname-3'],
      FILEORDERING: ['native', 'disorderfs --reverse-dirents', 'disorderfs'],
      BUILD_PATH: ['1st', '2nd', '3rd', '/build'],
    };
    expect(Object.keys(values).sort()).toEqual([...VARIATION_KEYS.keys()].sort());
    for (const [key, list] of Object.entries(values)) {
      for (const v of list) {
        const e = problemsOfJob('    variations:', `      build1: { ${key}: ${JSON.stringify(v)} }`);
        const configRefuses = e.some((p) => p.startsWith(`jobs.j.variations.build1.${key}: `));
        // the config may be stricter; it must never accept what node-build.sh refuses
        if (nodeBuildRefusesVariation(key, String(v))) expect(configRefuses, `${key}=${v}`).toBe(true);
        else if (!configRefuses) expect(e, `${key}=${v}`).toEqual([]);
      }
    }
    expect(problemsOfJob('    variations:', '      build2: { HOME: /a..b, PATH: "/bin:/x..y" }')).toEqual([
      'jobs.j.variations.build2.HOME: "/a..b" is not an absolute path without ".."',
      'jobs.j.variations.build2.PATH: "/bin:/x..y" is not a PATH of absolute directories without ".."',
    ]);
  });

  it('a 200 KB build.command, which the kernel refuses as one argument ("Argument list too long"), is refused when the config loads', () => {
    const big = `echo ${'x'.repeat(200 * 1024)}`;
    // node-build.sh runs it as one argument of sh -c: the kernel refuses that (E2BIG), and every build would FTBFS
    expect(spawnSync('sh', ['-c', 'exit 0', 'build', big]).error).toMatchObject({ code: 'E2BIG' });
    const e = problemsWith('build:', `  command: ${JSON.stringify(big)}`);
    expect(e).toEqual([
      `build.command: is ${Buffer.byteLength(big)} bytes long; at most ${MAX_BUILD_COMMAND_BYTES} (node-build.sh runs it as one argument of sh -c, and Linux refuses long ones)`,
    ]);
    // the longest one allowed runs
    const longest = `: ${'x'.repeat(MAX_BUILD_COMMAND_BYTES - 2)}`;
    expect(problemsWith('build:', `  command: ${JSON.stringify(longest)}`)).toEqual([]);
    expect(spawnSync('sh', ['-c', 'sh -c "$1"', 'build', longest]).status).toBe(0);
  });

  it('an empty build.command, which node-build.sh silently replaces with dpkg-buildpackage, is refused', () => {
    expect(problemsWith('build:', "  command: ''")).toEqual(['build.command: is empty; leave the key out for the default']);
  });

  it('a build.node_mirror node-build.sh cannot download from (ftp://, HTTP://) is refused: every build would end E404', () => {
    expect(problemsWith('build:', '  node_mirror: ftp://mirror.example/debian')).toEqual([
      'build.node_mirror: "ftp://mirror.example/debian": node-build.sh downloads only from http://, https://, file:// or a path',
    ]);
    expect(problemsWith('build:', '  node_mirror: HTTP://mirror.example/debian')).toHaveLength(1);
    expect(problemsWith('build:', '  node_mirror: https://mirror.example/debian')).toEqual([]);
  });
});

describe('types are strict', () => {
  it('state_dir: 42, and a number anywhere a path, URL, name or command is expected, is refused, not coerced', () => {
    expect(problemsWith('state_dir: 42')).toEqual(['state_dir: must be a string, got number 42 (quote it if you mean the text "42")']);
    const keys: Array<[string, string[]]> = [
      ['site_dir', ['site_dir: 7']],
      ['mirror', ['mirror: 7']],
      ['mirror_keyring', ['mirror_keyring: 7']],
      ['build.command', ['build:', '  command: 7']],
      ['build.node_mirror', ['build:', '  node_mirror: 7']],
      ['service.node', ['service:', '  node: 7']],
      ['service.user', ['service:', '  user: 7']],
      ['timers.build', ['timers:', '  build: 7']],
      ['nodes.c.workdir', ['  c: { transport: local, workdir: 7 }']],
      ['nodes.c.transport', ['  c: { transport: 7 }']],
      ['nodes.c.arch', ['  c: { transport: local, arch: 7 }']],
      ['nodes.d.host', ['  d: { host: 7, user: u, identity_file: k }']],
      ['nodes.d.user', ['  d: { host: h, user: 7, identity_file: k }']],
      ['nodes.d.identity_file', ['  d: { host: h, user: u, identity_file: 7 }']],
      ['nodes.d.known_hosts', ['  d: { host: h, user: u, identity_file: k, known_hosts: 7 }']],
    ];
    for (const [key, lines] of keys) {
      const text = lines[0]!.startsWith('  ')
        ? ['nodes:', '  a: { transport: local }', '  b: { transport: local }', ...lines, ''].join('\n')
        : [...TWO_LOCAL, ...lines, ''].join('\n');
      const e = problems(text);
      expect(
        e.filter((p) => p.startsWith(`${key}: `)),
        `${key} in ${e.join('\n')}`,
      ).toEqual([`${key}: must be a string, got number 7 (quote it if you mean the text "7")`]);
    }
    // where a number is a value the node takes as one, it still is
    expect(problemsOfJob('    variations:', '      build1: { PARALLEL: 3, COLUMNS: 100 }')).toEqual([]);
  });
});

describe('a huge or hostile file is refused in bounded time, memory and output', () => {
  it('a config of a million unknown keys is refused at once for its size by the CLI (exit 1, a few lines), not with hundreds of MB of errors', async () => {
    const dir = tmp();
    const file = join(dir, 'reprofarm.yaml');
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000; i++) lines.push(`k${i}: 1`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await runCli(['--config', file, 'status'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.length).toBeLessThan(2000);
    expect(r.stderr).toMatch(new RegExp(`is 10888890 bytes; a configuration is at most ${MAX_CONFIG_BYTES} bytes`));
    expect(r.ms).toBeLessThan(10_000);
  });

  it(`${MAX_CONFIG_ERRORS} errors are shown and the rest counted: 90,000 unknown keys within the size limit print the first ${MAX_CONFIG_ERRORS} and "... and N more"`, () => {
    const dir = tmp();
    const file = join(dir, 'reprofarm.yaml');
    writeFileSync(file, `${Array.from({ length: 90_000 }, (_, i) => `k${i}: 1`).join('\n')}\n`);
    const t0 = performance.now();
    let err: unknown;
    try {
      loadConfig({ path: file, env: {} });
    } catch (e) {
      err = e;
    }
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(ConfigError);
    const p = (err as ConfigError).problems;
    expect(p).toHaveLength(MAX_CONFIG_ERRORS + 1);
    expect(p[0]).toMatch(/^k0: unknown key/);
    // 90,000 unknown keys, and no nodes
    expect(p[MAX_CONFIG_ERRORS]).toBe(`... and ${90_001 - MAX_CONFIG_ERRORS} more`);
    expect((err as ConfigError).message).toMatch(/^.*reprofarm\.yaml: 90001 configuration problems \(the first 50 shown\):\n/);
    expect((err as ConfigError).message.length).toBeLessThan(50 * 400);
  });

  it('megabytes in one value or key are quoted as an excerpt: every message stays short', () => {
    const huge = 'x'.repeat(400_000);
    const cases: string[][] = [
      [`${huge}: 1`],
      [`state_dir: /${huge}`],
      [`mirror: http://${huge}`],
      ['timers:', `  build: "${huge}"`],
      ['build:', `  command: "${huge}"`],
      ['  z: { transport: local, workdir: /' + huge + ' }'],
      ['  ' + huge + ': { transport: local }'],
      ['  c: { host: ' + huge + ', user: u, identity_file: k }'],
      ['suites: [' + huge + ']'],
      ['site:', `  vary_facts: "${huge}"`],
    ];
    for (const lines of cases) {
      const text = lines[0]!.startsWith('  ')
        ? ['nodes:', '  a: { transport: local }', '  b: { transport: local }', ...lines, ''].join('\n')
        : [...TWO_LOCAL, ...lines, ''].join('\n');
      const e = problems(text);
      expect(e.length, lines[0]!.slice(0, 40)).toBeGreaterThan(0);
      for (const p of e) expect(p.length, p.slice(0, 80)).toBeLessThan(600);
    }
  });

  it('a job naming a node missing among 30,000 lists only a few of them', () => {
    const nodes = Array.from({ length: 30_000 }, (_, i) => `  n${i}: { transport: local }`);
    const e = problems(['nodes:', ...nodes, 'jobs:', '  j: { nodes: [n1, nope] }', ''].join('\n'));
    expect(e).toHaveLength(1);
    expect(e[0]).toMatch(/^jobs\.j\.nodes\[1\]: "nope" is not a configured node \(nodes: n0, n1, .* and 29990 more\)$/);
  });

  it('a blacklist of 90,000 names (under the size limit) is checked in linear time, not quadratic', () => {
    const names = Array.from({ length: 90_000 }, (_, i) => `  - p${i}`);
    const t0 = performance.now();
    expect(problemsWith('blacklist:', ...names)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('a YAML alias bomb (billion laughs) is not expanded: it loads at once with a bounded list of errors', () => {
    const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const t0 = performance.now();
    const e = problems([...lines, 'blacklist: *a9', 'suites: *a9', 'architectures: *a9', ...TWO_LOCAL, ''].join('\n'));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(e.length).toBeLessThanOrEqual(MAX_CONFIG_ERRORS + 1);
    expect(e.join('\n').length).toBeLessThan(50_000);
    // nesting is bounded by js-yaml itself
    expect(problems(`${'['.repeat(5000)}${']'.repeat(5000)}`)[0]).toMatch(/maxDepth/);
  });

  it('a config that never ends (/dev/zero, a FIFO) is read only up to the size limit', async () => {
    const r = await runCli(['--config', '/dev/zero', 'status'], { cwd: tmp() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`is more than ${MAX_CONFIG_BYTES} bytes; a configuration is at most ${MAX_CONFIG_BYTES} bytes`));
    expect(r.ms).toBeLessThan(10_000);
  });
});
