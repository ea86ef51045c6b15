/**
 * Hostile results: what a node leaves in its results directory is fetched by
 * the real fetch code over a real transport (a local node, and a node behind a
 * real sshd on loopback), from directories the test lays out as a tampered
 * node would: links to the main node's secrets, a 600 MB status file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeConfig } from '../../core/config.js';
import { LocalTransport } from '../../core/local-transport.js';
import { SshFileCache } from '../../core/ssh-transport.js';
import { fetchResults } from '../../builder/fetch-results.js';
import { NodeLink, ResultsRefused } from '../../builder/node-link.js';
import { startSshFarm, type SshFarm } from '../harness/sshd.js';

let farm: SshFarm;
let dir: string;
const LIMITS = { maxBytes: 1024 * 1024 * 1024, maxMetadataBytes: 1024 * 1024 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rf-hostile-results-'));
  chmodSync(dir, 0o755);
  farm = await startSshFarm({ nodes: [{ name: 'h1' }] });
}, 120_000);

afterAll(async () => {
  await farm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function localNode(workdir: string): NodeConfig {
  return { name: 'l1', transport: 'local', host: 'localhost', port: 22, user: '', identityFile: '', knownHosts: '', arch: 'amd64', offline: false, workdir };
}

function sshNode(): NodeConfig {
  const n = farm.node('h1');
  return {
    name: 'h1',
    transport: 'ssh',
    host: n.host,
    port: n.port,
    user: farm.user,
    identityFile: farm.identityFile,
    knownHosts: farm.knownHostsFile,
    arch: 'amd64',
    offline: false,
    workdir: n.workdir,
  };
}

/** A results directory as a node leaves it, with SHA256SUMS over what each entry reads as (links followed, as sha256sum does). */
function resultsDir(
  root: string,
  files: Record<string, string | { link: string } | { sparse: number }>,
): { dir: string; sums: Array<{ sha256: string; name: string }> } {
  const d = join(root, `results-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o755);
  const sums: Array<{ sha256: string; name: string }> = [];
  for (const [name, what] of Object.entries(files)) {
    const p = join(d, name);
    if (typeof what === 'string') writeFileSync(p, what, { mode: 0o644 });
    else if ('link' in what) symlinkSync(what.link, p);
    else {
      writeFileSync(p, '', { mode: 0o644 });
      truncateSync(p, what.sparse);
    }
    const hash = createHash('sha256');
    if (typeof what === 'string') hash.update(what);
    sums.push({ sha256: hash.digest('hex'), name });
  }
  writeFileSync(join(d, 'SHA256SUMS'), sums.map((s) => `${s.sha256}  ${s.name}\n`).join(''));
  return { dir: d, sums };
}

async function fetchWith(node: NodeConfig, remote: string, dest: string, printed?: Array<{ sha256: string; name: string }>): Promise<unknown> {
  const link = new NodeLink(node, 10_000, new SshFileCache());
  try {
    await fetchResults(link, remote, dest, LIMITS, () => undefined, printed);
    return undefined;
  } catch (err) {
    return err;
  } finally {
    link.close();
  }
}

describe('results that are links out of the results directory', () => {
  it('a local node whose .deb is a symbolic link to /etc/shadow does not make the main node store a copy of /etc/shadow', async () => {
    const { dir: remote } = resultsDir(dir, { status: 'EXIT_CODE=0\n', 'pkg_1.0_amd64.deb': { link: '/etc/shadow' }, 'pkg_1.0_amd64.changes': 'x' });
    const dest = join(dir, 'main-local', 'results');
    const err = await fetchWith(localNode(dir), remote, dest);
    expect(err).toBeInstanceOf(ResultsRefused);
    expect(String((err as Error).message)).toMatch(/pkg_1\.0_amd64\.deb in the results on l1 is a symbolic link, not a regular file: not fetched/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(join(dir, 'main-local'))).toBe(false);
  });

  it('a node behind sshd whose .debs are symbolic links to /etc/passwd is refused before anything is copied (lstat over SFTP)', async () => {
    const { dir: remote } = resultsDir(farm.node('h1').workdir, {
      status: 'EXIT_CODE=0\n',
      'a_1_amd64.deb': { link: '/etc/passwd' },
      'b_1_amd64.deb': { link: '/etc/passwd' },
    });
    const dest = join(dir, 'main-ssh', 'results');
    const err = await fetchWith(sshNode(), remote, dest);
    expect(err).toBeInstanceOf(ResultsRefused);
    expect(String((err as Error).message)).toMatch(/_1_amd64\.deb in the results on h1 is a symbolic link, not a regular file/);
    expect(existsSync(join(dir, 'main-ssh'))).toBe(false);
  });

  it('a local node that swaps a file for a link after it was listed is refused when the file is opened (O_NOFOLLOW)', async () => {
    const t = new LocalTransport('l1');
    const link = join(dir, 'swapped.deb');
    symlinkSync('/etc/passwd', link);
    await expect(t.get(link, join(dir, 'copy.deb'))).rejects.toThrow(/not copying .*swapped\.deb from local node l1: it is a symbolic link/);
    expect(existsSync(join(dir, 'copy.deb'))).toBe(false);
    expect(await t.lstat(link)).toMatchObject({ kind: 'symlink' });
  });

  it('a results entry that is a directory is refused, not walked', async () => {
    const { dir: remote } = resultsDir(dir, { status: 'EXIT_CODE=0\n' });
    mkdirSync(join(remote, 'sub_1_amd64.deb'));
    writeFileSync(join(remote, 'SHA256SUMS'), `${'0'.repeat(64)}  status\n${'1'.repeat(64)}  sub_1_amd64.deb\n`);
    const err = await fetchWith(localNode(dir), remote, join(dir, 'main-dir', 'results'));
    expect(String((err as Error).message)).toMatch(/sub_1_amd64\.deb in the results on l1 is a directory, not a regular file/);
  });
});

describe('small files read whole are bounded', () => {
  for (const [what, name] of [
    ['status', 'status'],
    ['.changes', 'p_1_amd64.changes'],
    ['.buildinfo', 'p_1_amd64.buildinfo'],
  ] as const) {
    it(`a 600 MB ${what} from a node is refused before it is fetched, and nothing of it stays on the main node`, async () => {
      const files: Record<string, string | { sparse: number }> = { status: 'EXIT_CODE=0\n' };
      files[name] = { sparse: 600 * 1024 * 1024 };
      const { dir: remote } = resultsDir(farm.node('h1').workdir, files);
      const dest = join(dir, `main-big-${what.replace('.', '')}`, 'results');
      const err = await fetchWith(sshNode(), remote, dest);
      expect(err).toBeInstanceOf(ResultsRefused);
      expect(String((err as Error).message)).toMatch(
        new RegExp(`${name.replace(/\./g, '\\.')} on h1 is 629145600 bytes, more than build\\.max_metadata_kb \\(1024 KiB\\): not fetched`),
      );
      expect(existsSync(join(dir, `main-big-${what.replace('.', '')}`))).toBe(false);
    });
  }

  it('a SHA256SUMS larger than 1 MiB on the node is refused unread (it is never printed whole)', async () => {
    const { dir: remote } = resultsDir(farm.node('h1').workdir, { status: 'EXIT_CODE=0\n' });
    writeFileSync(join(remote, 'SHA256SUMS'), `${'a'.repeat(64)}  status\n`.repeat(20_000));
    const err = await fetchWith(sshNode(), remote, join(dir, 'main-sums', 'results'));
    expect(err).toBeInstanceOf(ResultsRefused);
    expect(String((err as Error).message)).toMatch(/SHA256SUMS on h1 is larger than build\.max_metadata_kb \(1024 KiB\): not fetched/);
  });

  it('results of more files than any package makes are refused before each is looked at', async () => {
    const sums = Array.from({ length: 6000 }, (_, i) => ({ sha256: 'b'.repeat(64), name: `f${i}` }));
    sums.push({ sha256: 'c'.repeat(64), name: 'status' });
    const err = await fetchWith(localNode(dir), join(dir, 'nowhere'), join(dir, 'main-many', 'results'), sums);
    expect(String((err as Error).message)).toMatch(/the results on l1 are 6001 files, more than 5000: not fetched/);
  });
});
