/**
 * docs/configuration.md's generated part: the key table from the schema
 * (core/config/schema.ts), the checks across keys from the rules
 * (core/config/rules.ts), the variation table from core/protocol.ts, and the
 * limits. `npm run docs:config` writes it between the two markers;
 * test/unit/config-doc.test.ts fails when the file is not what this makes.
 */
import { VARIATIONS } from '../protocol.js';
import { RULES } from './rules.js';
import { MAX_CONFIG_BYTES, MAX_CONFIG_ERRORS, MAX_PATH, MAX_STRING, MAX_TIMER, SCHEMA, type Key, type Kind } from './schema.js';

export const DOC_BEGIN = '<!-- generated from core/config/schema.ts by `npm run docs:config`: edit the schema, not what follows -->';
export const DOC_END = '<!-- end of the generated part -->';

/** A table cell: one line, pipes escaped. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

const code = (s: string): string => `\`${s}\``;

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
}

/** A kind and its bounds, in words. */
export function kindText(t: Kind): string {
  switch (t.kind) {
    case 'string':
      return `${t.what ? `text: ${t.what}` : 'text'}, at most ${t.max ?? MAX_STRING} ${t.bytes ? 'bytes' : 'characters'}`;
    case 'path':
      return `path, at most ${MAX_PATH} characters (once resolved too)`;
    case 'url':
      return `URL (http://, https://, file://) or path, at most ${MAX_STRING} characters`;
    case 'bool':
      return '`true` or `false`';
    case 'number':
      return `${t.integer ? 'integer' : 'number'}, ${t.min}..${t.max}`;
    case 'list':
      return `list, each ${t.what}, no duplicates${t.allowEmpty ? '' : ', not empty'}`;
    case 'cron':
      return `cron expression (5 fields), at most ${MAX_TIMER} characters`;
    case 'pair':
      return 'list of two node names';
    case 'variations':
      return '`build1:` and `build2:`, each a mapping of variations';
    case 'suiteMap':
      return 'mapping of suite names to suite names';
    case 'webhooks':
      return 'list of mappings: `url` (http:// or https://), `secret_file` (path), `packages`, `maintainers`, `sets` (lists)';
    case 'packageSets':
      return 'mapping of set names to a list of source package names or the path of a file of them';
    case 'entry':
      return 'mapping';
  }
}

function defaultText(k: Key): string {
  if (k.shown !== undefined) return k.shown;
  if (k.required) return 'required';
  const d = k.default;
  if (d === undefined || typeof d === 'function') return '';
  return code(Array.isArray(d) ? `[${d.join(', ')}]` : String(d));
}

function keysTable(): string {
  return table(
    ['key', 'value', 'default', 'meaning'],
    SCHEMA.map((k) => [`${code(k.path)}${k.only ? ` (${k.only} nodes)` : ''}`, kindText(k.type), defaultText(k), k.help]),
  );
}

function rulesTable(): string {
  return table(
    ['rule', 'at', 'checks'],
    RULES.map((r) => [code(r.name), code(r.at), r.help]),
  );
}

function variationsTable(): string {
  return table(
    ['variation', 'build 1', 'build 2', 'a value is'],
    VARIATIONS.map((v) => [code(v.key), code(v.build1), code(v.build2), v.what]),
  );
}

/** The generated part, markers included. */
export function configDocSection(): string {
  return [
    DOC_BEGIN,
    '',
    '## Keys',
    '',
    keysTable(),
    '',
    '## Checks across keys',
    '',
    'Each is a named rule (core/config/rules.ts), checked right after the key it is at has been read.',
    '',
    rulesTable(),
    '',
    '## Variations',
    '',
    'The defaults of every job; `jobs.<NAME>.variations.build1` and `.build2` change any of them for one job.',
    '',
    variationsTable(),
    '',
    '## Limits',
    '',
    `- A configuration file is at most ${MAX_CONFIG_BYTES} bytes; a larger one is refused unread.`,
    `- The first ${MAX_CONFIG_ERRORS} problems are listed, then \`... and N more\`.`,
    '',
    DOC_END,
  ].join('\n');
}

/** `text` (docs/configuration.md) with its generated part made anew; throws when the markers are missing. */
export function withConfigDoc(text: string): string {
  const begin = text.indexOf(DOC_BEGIN);
  const end = text.indexOf(DOC_END);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md: the markers of the generated part are missing:\n${DOC_BEGIN}\n${DOC_END}`);
  return `${text.slice(0, begin)}${configDocSection()}${text.slice(end + DOC_END.length)}`;
}
