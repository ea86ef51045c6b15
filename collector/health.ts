/** Node health from its facts: ok, or degraded with every reason. Pure. */
import type { HealthThresholds } from '../core/config.js';
import { parseChrootsFact } from './facts.js';

export interface HealthVerdict {
  health: 'ok' | 'degraded';
  reasons: string[];
}

function num(facts: ReadonlyMap<string, string>, key: string): number | undefined {
  const v = facts.get(key);
  return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
}

/** With the chroot backend: the tarballs a node needs, one per suite it builds, for its architecture. */
export interface ChrootNeeds {
  suites: readonly string[];
  arch: string;
}

/**
 * The suites of `needs` whose tarball the node's CHROOTS fact does not list:
 * the node is degraded for them, and gets no builds of them
 * (builder/chroot-suites.ts keeps them out of its claims).
 */
export function missingChroots(facts: ReadonlyMap<string, string>, needs: ChrootNeeds): string[] {
  const parsed = parseChrootsFact(facts.get('CHROOTS'));
  const have = new Set(parsed.ok ? parsed.entries.map((e) => e.name) : []);
  return needs.suites.filter((s) => !have.has(`${s}-${needs.arch}`));
}

export function judgeHealth(node: string, facts: ReadonlyMap<string, string>, t: HealthThresholds, chroots?: ChrootNeeds): HealthVerdict {
  const reasons: string[] = [];
  const workdir = facts.get('WORKDIR') ?? 'the workdir';
  if (facts.get('WORKDIR_EXISTS') === 'no') reasons.push(`workdir ${workdir} does not exist (create it: reprofarm node-setup ${node})`);
  else if (facts.get('WORKDIR_WRITABLE') === 'no') reasons.push(`workdir ${workdir} is not writable by the build user`);
  if (facts.get('TMP_WRITABLE') === 'no') reasons.push('/tmp is not writable');
  const diskKb = num(facts, 'DISK_FREE_KB');
  if (diskKb !== undefined && diskKb / 1024 < t.minFreeDiskMb) {
    reasons.push(`only ${Math.floor(diskKb / 1024)} MB free in ${workdir} (minimum ${t.minFreeDiskMb} MB)`);
  }
  const inodes = num(facts, 'INODES_FREE');
  // filesystems without inode limits (btrfs) report 0 free inodes
  if (inodes !== undefined && inodes > 0 && inodes < t.minFreeInodes) {
    reasons.push(`only ${inodes} inodes free in ${workdir} (minimum ${t.minFreeInodes})`);
  }
  const load1 = Number((facts.get('LOAD') ?? '').split(' ')[0]);
  const cpus = num(facts, 'NUM_CPU');
  if (Number.isFinite(load1) && cpus && load1 / cpus > t.maxLoadPerCpu) {
    reasons.push(`load ${load1} on ${cpus} CPUs is above ${t.maxLoadPerCpu} per CPU`);
  }
  if (facts.get('HAVE_DPKG_BUILDPACKAGE') === 'no') reasons.push('dpkg-buildpackage is missing (install dpkg-dev)');
  if (chroots) {
    for (const s of missingChroots(facts, chroots)) reasons.push(`no chroot for ${s}/${chroots.arch} (run reprofarm chroot update ${node} --suite ${s})`);
  }
  return { health: reasons.length > 0 ? 'degraded' : 'ok', reasons };
}
