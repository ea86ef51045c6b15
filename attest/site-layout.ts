/**
 * Where a site publishes what `reprofarm verify` reads (docs/contract.md
 * "Attestations"): the public keys, and one .intoto.jsonl per package version
 * holding every attestation of it, oldest first. Paths relative to the site's
 * root. A version keeps its epoch (`1:2.0`): the file name is the version as
 * it is, and a link to it percent-encodes the colon.
 */
export const ATTESTATION_SITE_LAYOUT = {
  keyIndex: 'keys/index.json',
  publicKey: 'keys/reprofarm.pub',
  dir: (suite: string, arch: string): string => `attestations/${suite}/${arch}`,
  fileName: (pkg: string, version: string): string => `${pkg}_${version}.intoto.jsonl`,
  attestation: (suite: string, arch: string, pkg: string, version: string): string =>
    `${ATTESTATION_SITE_LAYOUT.dir(suite, arch)}/${ATTESTATION_SITE_LAYOUT.fileName(pkg, version)}`,
};
