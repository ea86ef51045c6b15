/** Defaults that depend on this machine, and the embedded default configuration (used when there is no file). */
import { userInfo } from 'node:os';

/** Debian architecture of this machine, for the embedded default. */
export function hostDebianArch(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    ia32: 'i386',
    arm: 'armhf',
    ppc64: 'ppc64el',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return map[process.arch] ?? process.arch;
}

/** The user running reprofarm: service.user's default. */
export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

/** The embedded default: two local nodes, no SSH, state under ./state. */
export function embeddedDefaultYaml(): string {
  return `# reprofarm's embedded default: two local nodes on this machine, no SSH, and the
# quick start's mirror of sample packages (scripts/demo-mirror.sh writes it)
state_dir: ./state
site_dir: ./public
mirror: ./state/mirror
mirror_keyring: ./state/mirror/demo-archive-keyring.gpg
suites: [bookworm]
architectures: [${hostDebianArch()}]
nodes:
  local1:
    transport: local
  local2:
    transport: local
jobs:
  reproducible_build_local_1: { nodes: [local1, local2] }
`;
}
