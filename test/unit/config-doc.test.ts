/**
 * docs/configuration.md documents every key as core/config/schema.ts defines
 * it: its generated part must be what the schema, the rules and the variations
 * make now (`npm run docs:config` writes it), and --help's defaults come from
 * the same table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/args.js';
import { configDocSection, DOC_BEGIN, DOC_END, withConfigDoc } from '../../core/config/doc.js';
import { RULES } from '../../core/config/rules.js';
import { defaultValue, SCHEMA } from '../../core/config/schema.js';
import { VARIATIONS } from '../../core/protocol.js';
import { ROOT } from '../helpers/cli.js';

const DOC = join(ROOT, 'docs', 'configuration.md');

describe('docs/configuration.md', () => {
  it('is what the schema generates (run npm run docs:config after changing core/config/schema.ts)', () => {
    const text = readFileSync(DOC, 'utf8');
    expect(text).toContain(DOC_BEGIN);
    expect(text).toContain(DOC_END);
    expect(withConfigDoc(text), 'docs/configuration.md is stale: run npm run docs:config').toBe(text);
  });

  it('lists every key, every rule and every variation', () => {
    const section = configDocSection();
    for (const k of SCHEMA) expect(section).toContain(`| \`${k.path}\``);
    for (const r of RULES) expect(section).toContain(`| \`${r.name}\` | \`${r.at}\` |`);
    for (const v of VARIATIONS) expect(section).toContain(`| \`${v.key}\` |`);
  });

  it('a hand-written part outside the markers is kept as it is', () => {
    const text = `# intro\n\n${DOC_BEGIN}\nold\n${DOC_END}\n\nafter\n`;
    expect(withConfigDoc(text)).toBe(`# intro\n\n${configDocSection()}\n\nafter\n`);
    expect(() => withConfigDoc('# no markers\n')).toThrow(/markers/);
  });
});

describe('--help', () => {
  it("shows the configuration's defaults as the schema has them", () => {
    const help = (cmd: string, opt: string): string => COMMANDS.find((c) => c.name === cmd)?.options[opt]?.help ?? '';
    expect(help('collect', 'concurrency')).toContain(`(default: collect.concurrency, ${String(defaultValue('collect.concurrency'))})`);
    expect(help('collect', 'timeout')).toContain(`(default: collect.timeout, ${String(defaultValue('collect.timeout'))})`);
    expect(help('schedule', 'priority')).toContain(`(default: schedule.default_priority, ${String(defaultValue('schedule.default_priority'))})`);
  });
});
