import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedDefaultYaml, loadConfig, parseConfig } from '../../core/config.js';
import { ConfigError } from '../../core/errors.js';

const base = '/etc/reprofarm';

function errorsOf(yaml: string): string[] {
  return parseConfig(yaml, 'test.yaml', base, null).errors;
}

describe('config', () => {
  it('accepts the DESIGN.md example and resolves paths against the config directory', () => {
    const r = parseConfig(
      `
state_dir: ./state
site_dir: ./public
mirror: http://127.0.0.1:8000/debian
mirror_keyring: /usr/share/keyrings/debian-archive-keyring.gpg
mirror_verify: true
suites: [bookworm]
architectures: [amd64]
nodes:
  build1-amd64:
    host: 127.0.0.1
    port: 2201
    user: rbuild
    arch: amd64
    identity_file: ./keys/id_ed25519
    known_hosts: ./keys/known_hosts
    workdir: /srv/workspace
  build2-amd64: { host: 127.0.0.1, port: 2202, user: rbuild, identity_file: ./keys/id_ed25519, known_hosts: ./keys/known_hosts }
  local1:
    transport: local
    workdir: ./state/nodes/local1
jobs:
  reproducible_build_amd64_1: { nodes: [build1-amd64, build2-amd64] }
collect: { concurrency: 16, timeout: 30 }
`,
      'x',
      base,
      '/etc/reprofarm/reprofarm.yaml',
    );
    expect(r.errors).toEqual([]);
    const c = r.config!;
    expect(c.stateDir).toBe('/etc/reprofarm/state');
    expect(c.mirror).toBe('http://127.0.0.1:8000/debian');
    const n = c.nodes.get('build1-amd64')!;
    expect(n).toMatchObject({
      transport: 'ssh',
      port: 2201,
      user: 'rbuild',
      identityFile: '/etc/reprofarm/keys/id_ed25519',
      workdir: '/srv/workspace',
      arch: 'amd64',
    });
    expect(c.nodes.get('build2-amd64')!.workdir).toBe('/srv/workspace');
    expect(c.nodes.get('local1')).toMatchObject({ transport: 'local', workdir: '/etc/reprofarm/state/nodes/local1' });
    expect(c.jobs.get('reproducible_build_amd64_1')!.nodes).toEqual(['build1-amd64', 'build2-amd64']);
    expect(c.collect).toEqual({ interval: 3600, concurrency: 16, timeout: 30, retentionDays: 14 });
  });

  it('reports every problem at once, each with its key path', () => {
    const errors = errorsOf(`
stat_dir: ./state
suites: [Bookworm]
nodes:
  a:
    host: "bad host;rm"
    port: 70000
    user: rbuild
    identity_file: k
    workdir: relative/path
    colour: blue
  b:
    transport: local
    host: 127.0.0.1
  ../evil: { transport: local }
jobs:
  j1: { nodes: [a, missing] }
  j2: { nodes: [b, b] }
collect: { concurrency: 0, timeout: fast }
`);
    const want = [
      /^stat_dir: unknown key \(did you mean "state_dir"\?\)/,
      /^suites\[0\]: /,
      /^nodes\.a\.host: /,
      /^nodes\.a\.port: 70000 is out of range/,
      /^nodes\.a\.workdir: .* must be an absolute path/,
      /^nodes\.a\.colour: unknown key/,
      /^nodes\.b\.host: unknown key/,
      /^nodes\.\.\.\/evil: node names may use/,
      /^jobs\.j1\.nodes\[1\]: "missing" is not a configured node/,
      /^jobs\.j2\.nodes: both builds on "b"/,
      /^collect\.concurrency: 0 is out of range/,
      /^collect\.timeout: must be a number/,
    ];
    for (const re of want)
      expect(
        errors.some((e) => re.test(e)),
        `${re} in\n${errors.join('\n')}`,
      ).toBe(true);
    expect(errors).toHaveLength(want.length);
  });

  it('reports YAML syntax errors and duplicate keys with line numbers', () => {
    expect(errorsOf('nodes:\n  a: [\n')[0]).toMatch(/^line \d+, column \d+: /);
    expect(errorsOf('suites: [a]\nsuites: [b]\n')[0]).toMatch(/^line 2, column 1: .*[Uu]nique|duplicate/i);
  });

  it('requires ssh settings for ssh nodes and at least one node', () => {
    expect(errorsOf('suites: [sid]\n')).toContain('nodes: no nodes configured; add at least two (see README.md, "Adding a node")');
    const e = errorsOf('nodes:\n  a: { host: h }\n');
    expect(e).toContain('nodes.a.user: missing; this key is required');
    expect(e).toContain('nodes.a.identity_file: missing; this key is required');
  });

  it('refuses names that would collide with folders of their own: a node "pending", a suite "static"', () => {
    const e = errorsOf('suites: [bookworm, static, rb-pkg]\nnodes:\n  pending: { transport: local }\n  b: { transport: local }\n');
    expect(e).toContain(
      'nodes.pending: "pending" cannot be a node name: node-build.sh keeps the builds in progress in WORKDIR/reproducible-builds/pending, beside each node\'s folder',
    );
    expect(e.filter((x) => x.startsWith('suites: '))).toEqual([
      'suites: "static" cannot be a suite name: the dashboard has a folder of that name beside the suites\' (static, rb-pkg, logs, dbd, node-information, issues, maintainers, sets, api, attestations, keys are taken)',
      'suites: "rb-pkg" cannot be a suite name: the dashboard has a folder of that name beside the suites\' (static, rb-pkg, logs, dbd, node-information, issues, maintainers, sets, api, attestations, keys are taken)',
    ]);
  });

  it("a job's own variations: each key checked against its pattern, unknown keys named, the rest kept", () => {
    const nodes = 'nodes:\n  a: { transport: local }\n  b: { transport: local }\n';
    const ok = parseConfig(
      `${nodes}jobs:\n  j:\n    nodes: [a, b]\n    variations:\n      build1: { TZ: Etc/GMT+11, PARALLEL: 3 }\n      build2: { DATE: '+400 days +2 hours', HOSTNAME: node, UMASK: '0027', LC_ALL: unset }\n`,
      't',
      '/w',
      null,
    );
    expect(ok.errors).toEqual([]);
    expect(ok.config!.jobs.get('j')!.variations).toEqual({
      build1: { TZ: 'Etc/GMT+11', PARALLEL: '3' },
      build2: { DATE: '+400 days +2 hours', HOSTNAME: 'node', UMASK: '0027', LC_ALL: 'unset' },
    });
    expect(parseConfig(`${nodes}jobs:\n  j: { nodes: [a, b] }\n`, 't', '/w', null).config!.jobs.get('j')!.variations).toEqual({ build1: {}, build2: {} });
    const e = errorsOf(
      `${nodes}jobs:\n  j:\n    nodes: [a, b]\n    variations:\n      build3: {}\n      build1: { UMASK: 0022, HOSTNAME: 'a;b', DATE: 'tomorrow', PATH: '/usr/bin:/../etc', HOMe: /x }\n`,
    );
    expect(e).toContain('jobs.j.variations.build3: unknown key (did you mean "build1"?); known keys here: build1, build2');
    // YAML reads an unquoted 0022 as the number 22
    expect(e).toContain('jobs.j.variations.build1.UMASK: "22" is not an octal umask like 0022');
    expect(e).toContain('jobs.j.variations.build1.HOSTNAME: "a;b" is not a host name label, or "node" (the node\'s own)');
    expect(e.some((x) => x.startsWith('jobs.j.variations.build1.DATE: "tomorrow" is not'))).toBe(true);
    expect(e.some((x) => x.startsWith('jobs.j.variations.build1.PATH: "/usr/bin:/../etc" is not'))).toBe(true);
    expect(e.some((x) => x.startsWith('jobs.j.variations.build1.HOMe: unknown key (did you mean "HOME"?)'))).toBe(true);
  });

  it('the embedded default is valid: two local nodes and a job', () => {
    const r = parseConfig(embeddedDefaultYaml(), 'embedded', '/w', null);
    expect(r.errors).toEqual([]);
    expect([...r.config!.nodes.values()].map((n) => [n.name, n.transport, n.workdir])).toEqual([
      ['local1', 'local', '/w/state/nodes/local1'],
      ['local2', 'local', '/w/state/nodes/local2'],
    ]);
    expect(r.config!.jobs.size).toBe(1);
  });

  it('loadConfig: --config beats $REPROFARM_CONFIG beats ./reprofarm.yaml beats the default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-config-'));
    const write = (name: string, state: string): string => {
      const f = join(dir, name);
      writeFileSync(f, `state_dir: ${state}\nnodes:\n  l1: { transport: local }\n`);
      return f;
    };
    expect(loadConfig({ cwd: dir, env: {} }).config.file).toBeNull();
    write('reprofarm.yaml', './s0');
    const envFile = write('env.yaml', './s1');
    const cliFile = write('cli.yaml', './s2');
    expect(loadConfig({ cwd: dir, env: {} }).config.stateDir).toBe(join(dir, 's0'));
    expect(loadConfig({ cwd: dir, env: { REPROFARM_CONFIG: envFile } }).config.stateDir).toBe(join(dir, 's1'));
    expect(loadConfig({ cwd: dir, env: { REPROFARM_CONFIG: envFile }, path: cliFile }).config.stateDir).toBe(join(dir, 's2'));
    expect(() => loadConfig({ cwd: dir, path: 'nope.yaml', env: {} })).toThrow(/cannot read configuration .*nope\.yaml/);
    writeFileSync(join(dir, 'bad.yaml'), 'nodes: {}\nfoo: 1\n');
    try {
      loadConfig({ cwd: dir, path: 'bad.yaml', env: {} });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(2);
    }
  });
});
