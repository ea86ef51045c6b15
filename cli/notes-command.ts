/** `reprofarm notes import DIR`: a reproducible-notes checkout into reproducible.db. */
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { openDb } from '../db/index.js';
import type { NotesImport } from '../db/notes.js';
import { importNotesDir } from '../notes/import.js';
import type { ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

export function notesLine(dir: string, r: NotesImport): string {
  const c = (x: NotesImport['packages']): string => `${x.total} (${x.added} new, ${x.changed} changed, ${x.removed} removed)`;
  return termSafe(`Imported ${dir}: ${r.unchanged ? 'unchanged; ' : ''}packages ${c(r.packages)}, issues ${c(r.issues)}`);
}

export function runNotes(config: Config, args: ParsedArgs, rep: Reporter): number {
  const [sub, dir, ...rest] = args.positionals;
  if (sub !== 'import' || dir === undefined || rest.length > 0) {
    throw new UsageError(`usage: reprofarm notes import DIR (got "${args.positionals.join(' ')}")`, {
      advice: 'DIR is a reproducible-notes checkout holding packages.yml and issues.yml',
    });
  }
  const db = openDb(dbFile(config.stateDir));
  try {
    const r = importNotesDir(db, dir);
    rep.line(notesLine(dir, r), true);
    if (args.values.json) rep.json({ dir, unchanged: r.unchanged, hash: r.hash, packages: r.packages, issues: r.issues });
    return 0;
  } finally {
    db.close();
  }
}
