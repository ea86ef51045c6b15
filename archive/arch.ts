/**
 * Does a source package's Architecture field apply to a Debian architecture?
 * Implements dpkg's architecture wildcards over its tuples
 * (abi-libc-os-cpu): `any`, `all`, `linux-any`, `any-amd64`, `gnu-any-any`...
 */

type Tuple = readonly [abi: string, libc: string, os: string, cpu: string];

// dpkg's tupletable, for the architectures Debian and its ports use
const TUPLES: Record<string, Tuple> = {
  amd64: ['base', 'gnu', 'linux', 'amd64'],
  arm64: ['base', 'gnu', 'linux', 'arm64'],
  armel: ['eabi', 'gnu', 'linux', 'arm'],
  armhf: ['eabihf', 'gnu', 'linux', 'arm'],
  i386: ['base', 'gnu', 'linux', 'i386'],
  mips64el: ['abi64', 'gnu', 'linux', 'mips64el'],
  mipsel: ['base', 'gnu', 'linux', 'mipsel'],
  ppc64el: ['base', 'gnu', 'linux', 'ppc64el'],
  ppc64: ['base', 'gnu', 'linux', 'ppc64'],
  powerpc: ['base', 'gnu', 'linux', 'powerpc'],
  riscv64: ['base', 'gnu', 'linux', 'riscv64'],
  s390x: ['base', 'gnu', 'linux', 's390x'],
  loong64: ['base', 'gnu', 'linux', 'loong64'],
  alpha: ['base', 'gnu', 'linux', 'alpha'],
  hppa: ['base', 'gnu', 'linux', 'hppa'],
  ia64: ['base', 'gnu', 'linux', 'ia64'],
  m68k: ['base', 'gnu', 'linux', 'm68k'],
  sh4: ['base', 'gnu', 'linux', 'sh4'],
  sparc64: ['base', 'gnu', 'linux', 'sparc64'],
  x32: ['x32', 'gnu', 'linux', 'amd64'],
  'hurd-i386': ['base', 'gnu', 'hurd', 'i386'],
  'hurd-amd64': ['base', 'gnu', 'hurd', 'amd64'],
  'kfreebsd-amd64': ['base', 'gnu', 'kfreebsd', 'amd64'],
  'kfreebsd-i386': ['base', 'gnu', 'kfreebsd', 'i386'],
  'musl-linux-amd64': ['base', 'musl', 'linux', 'amd64'],
  'musl-linux-arm64': ['base', 'musl', 'linux', 'arm64'],
};

export function archTuple(arch: string): Tuple | undefined {
  return TUPLES[arch];
}

/** Does one wildcard (or plain architecture) match `arch`? */
export function archMatches(wildcard: string, arch: string): boolean {
  if (wildcard === arch || wildcard === 'any') return true;
  const t = TUPLES[arch];
  if (!t) return false;
  // another architecture's name: no match (amd64 is not i386)
  if (TUPLES[wildcard]) return false;
  const parts = wildcard.split('-');
  // expand the wildcard to four parts as dpkg does: os-cpu, libc-os-cpu, abi-libc-os-cpu
  let w: string[];
  if (parts.length === 2) w = ['any', 'any', parts[0] as string, parts[1] as string];
  else if (parts.length === 3) w = ['any', parts[0] as string, parts[1] as string, parts[2] as string];
  else if (parts.length === 4) w = parts;
  else return false;
  return w.every((p, i) => p === 'any' || p === t[i]);
}

/** Does an Architecture field ("any", "all", "linux-any kfreebsd-any", "amd64 i386"...) apply to `arch`? */
export function appliesTo(architectureField: string, arch: string): boolean {
  for (const w of architectureField.split(/\s+/)) {
    if (w === '') continue;
    if (w === 'all') return true;
    if (archMatches(w, arch)) return true;
  }
  return false;
}
