/**
 * A unified diff of two texts for a page (jsdiff's structuredPatch), as lines
 * the templates escape. Bounded: each text is cut at MAX_INPUT bytes and the
 * diff at MAX_LINES lines, and the view says so. A pure function.
 */
import { structuredPatch } from 'diff';

/** Bytes of each text diffed: a .buildinfo is a few KiB; one far larger is cut here. */
export const MAX_INPUT = 256 * 1024;
/** Lines of diff shown. */
export const MAX_LINES = 400;
/** Edits (lines added or removed) past which no diff is computed. */
export const MAX_EDITS = 2000;

export interface DiffLine {
  /** hunk: `@@ ... @@`; add, del, same: a line of it */
  kind: 'hunk' | 'add' | 'del' | 'same';
  text: string;
}

export interface TextDiff {
  oldName: string;
  newName: string;
  /** no line differs */
  same: boolean;
  lines: DiffLine[];
  /** why it is not all there ('' when it is) */
  truncated: string;
}

function cut(text: string): { text: string; cut: boolean } {
  if (Buffer.byteLength(text) <= MAX_INPUT) return { text, cut: false };
  // cut at a line, within the bound
  const head = Buffer.from(text).subarray(0, MAX_INPUT).toString('utf8');
  return { text: head.slice(0, head.lastIndexOf('\n') + 1), cut: true };
}

export function textDiff(oldName: string, newName: string, oldText: string, newText: string, context = 3): TextDiff {
  const a = cut(oldText);
  const b = cut(newText);
  // jsdiff's cost grows with the edit distance squared: past MAX_EDITS it gives up (undefined)
  const patch: ReturnType<typeof structuredPatch> | undefined = structuredPatch(oldName, newName, a.text, b.text, '', '', {
    context,
    maxEditLength: MAX_EDITS,
  });
  if (!patch) return { oldName, newName, same: false, lines: [], truncated: `the files differ in more than ${MAX_EDITS} lines: no diff is shown` };
  const lines: DiffLine[] = [];
  let more = 0;
  for (const h of patch.hunks) {
    const all: DiffLine[] = [
      { kind: 'hunk', text: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@` },
      ...h.lines.map((l): DiffLine => ({ kind: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'same', text: l })),
    ];
    for (const l of all) {
      if (lines.length < MAX_LINES) lines.push(l);
      else more++;
    }
  }
  const why = [
    a.cut || b.cut ? `only the first ${MAX_INPUT / 1024} KiB of each file are compared` : '',
    more > 0 ? `${more} more lines of the diff are not shown` : '',
  ].filter(Boolean);
  return { oldName, newName, same: patch.hunks.length === 0, lines, truncated: why.join('; ') };
}
