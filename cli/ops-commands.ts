/** Running the farm: backup, job definitions, node set-up. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { ReprofarmError, UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { backupDatabase } from '../db/backup.js';
import { writeFileAtomic } from '../core/atomic.js';
import { projectRoot } from '../core/paths.js';
import { shQuote } from '../core/shell.js';
import { generateJobs, JOBS_FORMATS, type JobsFormat } from '../ops/jobs.js';
import { suggest, type ParsedArgs } from './args.js';
import { seconds, type Reporter } from './output.js';

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function runBackup(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [file, ...rest] = args.positionals;
  if (!file || rest.length > 0) throw new UsageError('backup takes one argument: the FILE to write', { advice: 'e.g. reprofarm backup /var/backups/reproducible.db' });
  const dest = resolve(file);
  const force = args.values.force === true;
  const src = dbFile(config.stateDir);
  if (!existsSync(src)) throw new ReprofarmError(`there is no database at ${src}`, { advice: 'check state_dir in the configuration' });
  if (!force && existsSync(dest)) throw new ReprofarmError(`${dest} exists; not overwriting it`, { advice: 'choose another file name, or pass --force to replace it' });
  if (!existsSync(dirname(dest))) throw new ReprofarmError(`the directory ${dirname(dest)} does not exist`, { advice: 'create it first' });
  const t0 = performance.now();
  const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const r = await backupDatabase(src, tmp);
    if (r.integrity !== 'ok') throw new ReprofarmError(`the copy of ${src} fails its integrity check: ${r.integrity}`, { advice: 'check the database itself: sqlite3 reproducible.db "PRAGMA integrity_check"' });
    await fsyncPath(tmp);
    if (force) {
      await rename(tmp, dest);
    } else {
      // link() fails when FILE appeared meanwhile: never overwrite without --force
      try {
        await link(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ReprofarmError(`${dest} exists; not overwriting it`, { advice: 'choose another file name, or pass --force to replace it' });
        throw err;
      }
      await unlink(tmp);
    }
    await fsyncPath(dirname(dest));
    const bytes = (await stat(dest)).size;
    const ms = performance.now() - t0;
    rep.line(`Backed up ${src} to ${dest} (${r.pages} pages, ${(bytes / 1024 / 1024).toFixed(1)} MB, integrity ok) in ${seconds(ms)}`, true);
    if (args.values.json) rep.json({ file: dest, source: src, bytes, pages: r.pages, integrity: r.integrity, duration_ms: Math.round(ms) });
    return 0;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export async function runJobs(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`jobs takes no arguments, got "${args.positionals.join(' ')}"`);
  const format = args.values.format;
  if (typeof format !== 'string') throw new UsageError('jobs needs --format jjb, systemd or cron');
  if (!(JOBS_FORMATS as readonly string[]).includes(format)) {
    const s = suggest(format, JOBS_FORMATS);
    throw new UsageError(`--format ${format}: use jjb, systemd or cron${s ? `; did you mean ${s}?` : ''}`);
  }
  const files = generateJobs(config, format as JobsFormat, { node: config.service.node, bin: join(projectRoot(), 'bin', 'reprofarm.js') });
  const outDir = args.values.output;
  if (typeof outDir === 'string') {
    const dir = resolve(outDir);
    for (const f of files) await writeFileAtomic(join(dir, f.name), f.content);
    rep.line(`Wrote ${files.length} file(s) to ${dir}: ${files.map((f) => f.name).join(', ')}`, true);
    rep.line(nextSteps(format as JobsFormat, dir, files.map((f) => f.name)));
    if (args.values.json) rep.json({ format, files: files.map((f) => ({ name: f.name, path: join(dir, f.name) })) });
    return 0;
  }
  if (args.values.json) {
    rep.json({ format, files });
    return 0;
  }
  if (files.length === 1) {
    rep.out.write(files[0]?.content ?? '');
  } else {
    rep.out.write(files.map((f) => `# ==> ${f.name} <==\n${f.content}`).join('\n'));
  }
  return 0;
}

function nextSteps(format: JobsFormat, dir: string, names: string[]): string {
  const file = shQuote(join(dir, names[0] ?? ''));
  switch (format) {
    case 'jjb':
      return `next: jenkins-jobs test ${file} && jenkins-jobs update ${file}`;
    case 'systemd': {
      const enable = names.filter((n) => n.endsWith('.timer') || n === 'reprofarm-worker.service');
      return `next: cp ${shQuote(dir)}/reprofarm-* /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${enable.join(' ')}`;
    }
    case 'cron':
      return `next: crontab -n ${file} (a syntax check), then crontab ${file} as the user that runs the farm`;
  }
}
