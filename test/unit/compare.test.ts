/** What the main node reads from a build's .changes before comparing (builder/compare.ts). */
import { describe, expect, it } from 'vitest';
import { changesArtifacts, unsafeChangesNames } from '../../builder/compare.js';

const SHA = 'a'.repeat(64);

function changes(names: string[]): string {
  return [
    'Format: 1.8',
    'Source: hello',
    'Checksums-Sha1:',
    ...names.map((n) => ` ${'b'.repeat(40)} 10 ${n}`),
    'Checksums-Sha256:',
    ...names.map((n) => ` ${SHA} 10 ${n}`),
    'Files:',
    ...names.map((n) => ` ${'c'.repeat(32)} 10 misc optional ${n}`),
    '',
  ].join('\n');
}

describe('.changes from a node', () => {
  it('lists its .deb artifacts and finds no unsafe names in a normal .changes', () => {
    const text = changes(['hello_1.0_amd64.deb', 'hello-dbgsym_1.0_amd64.ddeb', 'hello_1.0_amd64.buildinfo']);
    expect(new Set(changesArtifacts(text).map((a) => a.name))).toEqual(new Set(['hello-dbgsym_1.0_amd64.ddeb', 'hello_1.0_amd64.deb']));
    expect(unsafeChangesNames(text)).toEqual([]);
  });

  it('reports file names outside the .changes directory, whichever field lists them', () => {
    const text = changes(['hello_1.0_amd64.deb', '../../../../root/.ssh/id_ed25519', '/etc/shadow', '.hidden']);
    expect(new Set(unsafeChangesNames(text))).toEqual(new Set(['.hidden', '../../../../root/.ssh/id_ed25519', '/etc/shadow']));
    const onlyFiles = 'Format: 1.8\nFiles:\n 0123 10 misc optional sub/dir.deb\n';
    expect(unsafeChangesNames(onlyFiles)).toEqual(['sub/dir.deb']);
  });
});
