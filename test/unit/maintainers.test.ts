import { describe, expect, it } from 'vitest';
import { parseMaintainers, parsePerson, splitPeople } from '../../archive/maintainers.js';

describe('Maintainer and Uploaders fields', () => {
  it('splits Uploaders on commas outside quotes, over folded lines', () => {
    expect(splitPeople('A <a@x.org>, "Doe, John" <j@d.org>,\n B\\ C <b@x.org> ,, ')).toEqual(['A <a@x.org>', '"Doe, John" <j@d.org>', 'B\\ C <b@x.org>']);
    expect(splitPeople('"Say \\"hi, there\\"" <h@x.org>, D <d@x.org>')).toEqual(['"Say \\"hi, there\\"" <h@x.org>', 'D <d@x.org>']);
    expect(splitPeople('')).toEqual([]);
  });

  it('splits on every comma when a quote is left open, so that it swallows no entry after it', () => {
    const f = parseMaintainers(undefined, '"Open <o@x.org>, Fine Person <f@x.org>');
    expect(f.people.map((p) => [p.email, p.name])).toEqual([
      ['o@x.org', '"Open'],
      ['f@x.org', 'Fine Person'],
    ]);
    expect(f.problems).toEqual([]);
  });

  it('parses the shapes real Sources indexes have', () => {
    // from bookworm's Sources: a team as maintainer, quoted and unquoted people, upper-case addresses
    const f = parseMaintainers(
      'Debian GCC Maintainers <debian-gcc@lists.debian.org>',
      'Matthias Klose <doko@debian.org>, "Brian M. Carlson" <Sandals@Crustytoothpaste.NET>,\n Jérémy Lal <kapouer@melix.org>,\n "Foo, Bar" <foo.bar+deb@example.org>',
    );
    expect(f.problems).toEqual([]);
    expect(f.people).toEqual([
      { email: 'debian-gcc@lists.debian.org', name: 'Debian GCC Maintainers', role: 'maintainer' },
      { email: 'doko@debian.org', name: 'Matthias Klose', role: 'uploader' },
      { email: 'sandals@crustytoothpaste.net', name: 'Brian M. Carlson', role: 'uploader' },
      { email: 'kapouer@melix.org', name: 'Jérémy Lal', role: 'uploader' },
      { email: 'foo.bar+deb@example.org', name: 'Foo, Bar', role: 'uploader' },
    ]);
  });

  it('names a person by their address when the name is empty, and unescapes quoted names', () => {
    expect(parsePerson('<solo@x.org>', 'uploader')).toEqual({ email: 'solo@x.org', name: 'solo@x.org', role: 'uploader' });
    expect(parsePerson('"A \\"B\\" C" <abc@x.org>', 'maintainer')).toEqual({ email: 'abc@x.org', name: 'A "B" C', role: 'maintainer' });
  });

  it('refuses entries without an address, or with one that is not an address', () => {
    for (const bad of ['Foo Bar', 'Foo <>', 'Foo <foo>', 'Foo <a b@x.org>', 'Foo <a@x.org> trailing', 'Foo <"a"@x.org>', 'Foo <a@-x.org>', 'Foo <a@@x.org>']) {
      expect(typeof parsePerson(bad, 'uploader'), bad).toBe('string');
    }
    const f = parseMaintainers('No Address', 'Good <g@x.org>, Bad <bad>');
    expect(f.people.map((p) => p.email)).toEqual(['g@x.org']);
    expect(f.problems).toEqual(['Maintainer: "No Address" has no <email address>', 'Uploaders: "bad" is not an email address']);
  });

  it('keeps hostile names as text (pages escape them) but refuses control characters, and bounds them', () => {
    const html = parsePerson('<script>alert(1)</script> <evil@x.org>', 'maintainer');
    expect(html).toEqual({ email: 'evil@x.org', name: '<script>alert(1)</script>', role: 'maintainer' });
    for (const c of ['\u0001', '\u001b[31m', '\u007f', '\u009b']) {
      expect(parsePerson(`A${c}B <c@x.org>`, 'uploader')).toBe('the name of c@x.org holds control characters');
    }
    expect(parsePerson(`${'n'.repeat(201)} <long@x.org>`, 'uploader')).toBe('the name of long@x.org is longer than 200 characters');
    // a problem quotes the entry with its controls and bidi controls escaped
    const p = parseMaintainers('evil\u202etxt', undefined).problems[0] ?? '';
    expect(p).toContain('\\u202e');
    expect(p).not.toContain('\u202e');
  });

  it('lists each address once: a maintainer also an uploader stays the maintainer', () => {
    const f = parseMaintainers('Team <team@x.org>', 'A <a@x.org>, Team Again <TEAM@x.org>, A Twice <a@X.org>');
    expect(f.people).toEqual([
      { email: 'team@x.org', name: 'Team', role: 'maintainer' },
      { email: 'a@x.org', name: 'A', role: 'uploader' },
    ]);
    expect(f.problems).toEqual([]);
  });

  it('keeps at most 100 people, and says so once', () => {
    const many = Array.from({ length: 150 }, (_, i) => `P${i} <p${i}@x.org>`).join(', ');
    const f = parseMaintainers('M <m@x.org>', many);
    expect(f.people).toHaveLength(100);
    expect(f.problems).toEqual(['Uploaders: more than 100 people; the rest are left out']);
  });
});
