/**
 * Reading a configuration: the YAML text, then a walk of the schema
 * (core/config/schema.ts) in its order, each key checked for its type and
 * bounds and then by the rules at its path (core/config/rules.ts). Every
 * problem is kept with its key path, the first MAX_CONFIG_ERRORS word for word
 * and the rest counted. A refused key takes its default, so that the keys
 * after it are still checked and every problem is found in one pass.
 */
import { resolve } from 'node:path';
import { load as loadYaml, CORE_SCHEMA, YAMLException } from 'js-yaml';
import { readWebhooks } from './notify.js';
import { readPackageSets } from './sets.js';
import { describe, keyName, Problems } from './problems.js';
import { RULES, type Rule, type RuleContext } from './rules.js';
import { MAX_CONFIG_BYTES, SCHEMA, type Key } from './schema.js';
import { isObj, type Config, type ConfigResult, type Obj } from './types.js';
import { complete, readGiven, readPair, readSuiteMap, readVariations } from './values.js';

export function tooLarge(size: string): string {
  return `the file is ${size} bytes; a configuration is at most ${MAX_CONFIG_BYTES} bytes (1 MiB)`;
}

/** The schema as a tree: sections (collect), entries (nodes.<NAME>) and keys, each with its path as the schema and the rules write it. */
interface Branch {
  key: string;
  pattern: string;
  /** the property of Config (or of its section or entry) holding it: the key in camelCase, or the row's `as` */
  prop: string;
  row?: Key;
  children: Branch[];
}

const NAME = '<NAME>';

/** The table as a tree: `nodes.<NAME>.port` is the key port of the entry <NAME> of nodes. */
function compile(rows: readonly Key[]): Branch {
  const root: Branch = { key: '', pattern: '', prop: '', children: [] };
  for (const row of rows) {
    const segments = row.path.split('.');
    let at = root;
    for (const [i, key] of segments.entries()) {
      const last = i === segments.length - 1;
      // a key is a branch of its own even when another has its name (a node's workdir, ssh or local)
      let next = last ? undefined : at.children.find((b) => b.key === key && (b.row === undefined || b.row.type.kind === 'entry'));
      if (!next) {
        const prop = (last ? row.as : undefined) ?? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
        next = { key, pattern: segments.slice(0, i + 1).join('.'), prop, children: [], ...(last ? { row } : {}) };
        at.children.push(next);
      }
      at = next;
    }
  }
  return root;
}

/** The rules by the path they check; a rule at a path the schema does not have is a mistake in the code, found at once. */
function indexRules(rules: readonly Rule[], tree: Branch): Map<string, Rule[]> {
  const patterns = new Set<string>();
  const add = (b: Branch): void => {
    patterns.add(b.pattern);
    b.children.forEach(add);
  };
  add(tree);
  const out = new Map<string, Rule[]>();
  for (const r of rules) {
    if (!patterns.has(r.at)) throw new Error(`rule ${r.name}: core/config/schema.ts has no key ${r.at}`);
    out.set(r.at, [...(out.get(r.at) ?? []), r]);
  }
  return out;
}

const TREE = compile(SCHEMA);
const RULES_AT = indexRules(RULES, TREE);

const present = (v: unknown): boolean => v !== undefined && v !== null;

/** One reading of one file. */
interface Walk {
  p: Problems;
  baseDir: string;
  top: Obj;
  /** the Config being filled, in the table's order */
  config: Obj;
}

function defaultOf(w: Walk, row: Key, name: string | undefined): unknown {
  return typeof row.default === 'function' ? row.default({ config: w.config, name }) : row.default;
}

/** What Config holds for a key without a value (a required one left out or refused, a path too long): '' for required text, else the default. */
function fallbackOf(w: Walk, row: Key, name: string | undefined): unknown {
  if (row.required) return row.type.kind === 'pair' ? undefined : '';
  const d = defaultOf(w, row, name);
  return row.type.kind === 'path' && typeof d === 'string' ? resolve(w.baseDir, d) : d;
}

/** What a rule is told: made for each key a rule checks (a class: 30,000 nodes make 60,000 of them). */
class Context implements RuleContext {
  constructor(
    private readonly w: Walk,
    readonly at: string,
    readonly given: boolean,
    readonly name: string | undefined,
    readonly record: Obj,
  ) {}
  get config(): Partial<Config> {
    return this.w.config;
  }
  get top(): Obj {
    return this.w.top;
  }
  err(msg: string, at = this.at): void {
    this.w.p.err(at, msg);
  }
  warn(msg: string): void {
    this.w.p.warnings.push(msg);
  }
}

/** The rules at `pattern` (core/config/rules.ts), on the value just read (none when it has no value). */
function runRules(w: Walk, pattern: string, value: unknown, at: string, given: boolean, name: string | undefined, record: Obj): void {
  const rules = RULES_AT.get(pattern);
  if (!rules || value === undefined) return;
  const ctx = new Context(w, at, given, name, record);
  for (const r of rules) r.check(value, ctx);
}

/** A section's or an entries' value: {} when left out, or (with a problem) when not a mapping. */
function mapping(w: Walk, v: unknown, at: string): Obj {
  if (!present(v)) return {};
  if (!isObj(v)) {
    w.p.err(at, `must be a mapping, got ${describe(v)}`);
    return {};
  }
  return v;
}

/** Read `branches` from `obj` (at key path `at`) into `record`, in the table's order. */
function readKeys(w: Walk, obj: Obj, at: string, branches: readonly Branch[], record: Obj, name?: string): void {
  for (const b of branches) {
    const here = at ? `${at}.${b.key}` : b.key;
    if (!b.row) {
      record[b.prop] = b.children[0]?.key === NAME ? readEntries(w, obj[b.key], here, b) : readSection(w, obj[b.key], here, b);
      continue;
    }
    const value = readValue(w, obj[b.key], here, b.row, name);
    const stored = value ?? fallbackOf(w, b.row, name);
    record[b.prop] = b.row.scale !== undefined && typeof stored === 'number' ? stored * b.row.scale : stored;
    runRules(w, b.pattern, value, here, present(obj[b.key]), name, record);
  }
}

function readSection(w: Walk, raw: unknown, at: string, b: Branch): Obj {
  const obj = mapping(w, raw, at);
  w.p.unknownKeys(
    obj,
    at,
    b.children.map((c) => c.key),
  );
  const record: Obj = {};
  readKeys(w, obj, at, b.children, record);
  runRules(w, b.pattern, record, at, present(raw), undefined, record);
  return record;
}

/** nodes: or jobs:, each entry checked for its name (then by the name's rules) and read unless its name is refused. */
function readEntries(w: Walk, raw: unknown, at: string, b: Branch): Map<string, Obj> {
  const entry = b.children[0] as Branch;
  const t = entry.row?.type;
  if (t?.kind !== 'entry') throw new Error(`core/config/schema.ts: ${entry.pattern} needs a row of kind entry`);
  const obj = mapping(w, raw, at);
  const out = new Map<string, Obj>();
  for (const [name, v] of Object.entries(obj)) {
    const here = `${at}.${keyName(name)}`;
    if (!t.re.test(name)) {
      w.p.err(here, t.refused);
      continue;
    }
    const before = w.p.total;
    runRules(w, entry.pattern, name, here, true, name, {});
    if (w.p.total > before) continue;
    if (!isObj(v)) {
      w.p.err(here, `must be ${t.mapping}, got ${describe(v)}`);
      continue;
    }
    out.set(name, readEntry(w, v, here, entry.children, name));
  }
  runRules(w, b.pattern, out, at, present(raw), undefined, w.config);
  return out;
}

/**
 * One entry. When some of its keys are for one kind of entry `only` (ssh or local nodes), its
 * first key says which kind it is: it is read first, then only the keys of that kind are known.
 */
function readEntry(w: Walk, v: Obj, at: string, branches: readonly Branch[], name: string): Obj {
  const record: Obj = { name };
  const first = branches[0];
  if (!first?.row || !branches.some((b) => b.row?.only !== undefined)) {
    w.p.unknownKeys(
      v,
      at,
      branches.map((b) => b.key),
    );
    readKeys(w, v, at, branches, record, name);
    return record;
  }
  readKeys(w, v, at, [first], record, name);
  const kind = record[first.prop];
  const applies = branches.filter((b) => b.row?.only === undefined || b.row.only === kind);
  for (const b of branches) {
    if (b.row?.otherwise !== undefined && !applies.includes(b)) record[b.prop] = b.row.otherwise;
  }
  w.p.unknownKeys(
    v,
    at,
    applies.map((b) => b.key),
  );
  readKeys(w, v, at, applies.slice(1), record, name);
  return record;
}

/** One key's value; undefined when it has none (a required key left out or refused, a path too long once resolved). */
function readValue(w: Walk, v: unknown, at: string, row: Key, name: string | undefined): unknown {
  const t = row.type;
  if (t.kind === 'pair') return readPair(w.p, v, at);
  if (t.kind === 'variations') return readVariations(w.p, v, at);
  if (t.kind === 'suiteMap') return readSuiteMap(w.p, v, at);
  if (t.kind === 'webhooks') return readWebhooks(w.p, v, at, w.baseDir);
  if (t.kind === 'packageSets') return readPackageSets(w.p, v, at, w.baseDir);
  const dflt = defaultOf(w, row, name);
  let value: unknown;
  if (!present(v)) {
    if (row.required) w.p.err(at, 'missing; this key is required');
    value = dflt;
  } else {
    value = readGiven(w.p, v, at, t, dflt);
  }
  return value === undefined ? undefined : complete(w.p, w.baseDir, at, t, value);
}

/** The file's top-level mapping, or the one problem that stops the reading (too large, not YAML, not a mapping). */
function readYaml(text: string, source: string): Obj | string {
  const size = Buffer.byteLength(text);
  if (size > MAX_CONFIG_BYTES) return tooLarge(String(size));
  let raw: unknown;
  try {
    // the core schema: no timestamps or other implicit types, duplicate keys are errors
    raw = loadYaml(text, { schema: CORE_SCHEMA, filename: source });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    const pos = err.mark ? `line ${err.mark.line + 1}, column ${err.mark.column + 1}` : 'YAML';
    const reason = err.reason.length > 200 ? `${err.reason.slice(0, 200)}…` : err.reason;
    return `${pos}: ${reason}`;
  }
  if (raw === null || raw === undefined) return {};
  return isObj(raw) ? raw : `top level: must be a mapping of keys, got ${describe(raw)}`;
}

/** Validate a configuration text. `source` names it in messages; relative paths resolve against `baseDir`. */
export function parseConfig(text: string, source: string, baseDir: string, file: string | null): ConfigResult {
  const top = readYaml(text, source);
  if (typeof top === 'string') return { config: undefined, errors: [top], errorCount: 1, warnings: [] };
  const w: Walk = { p: new Problems(), baseDir, top, config: { file } };
  w.p.unknownKeys(
    top,
    '',
    TREE.children.map((b) => b.key),
  );
  readKeys(w, top, '', TREE.children, w.config);
  if (w.p.total > 0) return { config: undefined, errors: w.p.reported(), errorCount: w.p.total, warnings: w.p.warnings };
  return { config: w.config as unknown as Config, errors: [], errorCount: 0, warnings: w.p.warnings };
}
