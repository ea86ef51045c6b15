/**
 * A notes checkout into the DB: read and validated whole (notes/parse.ts), then
 * imported in one transaction (db/notes.ts). Used by `notes import DIR` and by
 * each `site` render when notes_dir is set.
 */
import { resolve } from 'node:path';
import { ReprofarmError } from '../core/errors.js';
import type { FarmDb } from '../db/index.js';
import { importNotes, type NotesImport } from '../db/notes.js';
import { formatProblems, readNotes, type NotesProblem } from './parse.js';

/** At most this many problems are listed; past them, a count. */
const MAX_LISTED = 50;

export class NotesError extends ReprofarmError {
  override name = 'NotesError';
  constructor(
    readonly dir: string,
    readonly problems: readonly NotesProblem[],
  ) {
    const listed = formatProblems(problems.slice(0, MAX_LISTED).map((p) => ({ ...p, file: `${dir}/${p.file}` })));
    const more = problems.length > MAX_LISTED ? `\n... and ${problems.length - MAX_LISTED} more` : '';
    super(`the notes in ${dir} are not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}); nothing was imported:\n${listed}${more}`, {
      advice: 'fix these lines in the checkout and import again; the notes imported before stay as they were',
    });
  }
}

/** Reads DIR and imports it; throws NotesError (and changes nothing) when any part of it is wrong. */
export function importNotesDir(db: FarmDb, dir: string, now: string = new Date().toISOString()): NotesImport {
  const abs = resolve(dir);
  const { notes, problems } = readNotes(abs);
  if (problems.length > 0) throw new NotesError(abs, problems);
  return importNotes(db, notes, abs, now);
}
