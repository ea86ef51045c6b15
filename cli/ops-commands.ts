/** Running the farm: backup, job definitions, node set-up. */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Config } from '../core/config.js';
import { ReprofarmError, UsageError } from '../core/errors.js';
import { dbFile } from '../core/paths.js';
import { backupDatabase } from '../db/backup.js';
import { writeFileAtomic } from '../core/atomic.js';
import { projectRoot } from '../core/paths.js';
import { shQuote } from '../core/shell.js';
import { openTransport } from '../core/connect.js';
import { DEFAULT_LIB_DIR, nodeSetupPlan } from '../ops/node-setup.js';
import { generateJobs, JOBS_FORMATS, type JobsFormat } from '../ops/jobs.js';
import { suggest, type ParsedArgs } from './args.js';
import { seconds, termSafe, type Reporter } from './output.js';

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
  if (!file || rest.length > 0)
    throw new UsageError('backup takes one argument: the FILE to write', { advice: 'e.g. reprofarm backup /var/backups/reproducible.db' });
  const dest = resolve(file);
  const force = args.values.force === true;
  const src = dbFile(config.stateDir);
  if (!existsSync(src)) throw new ReprofarmError(`there is no database at ${src}`, { advice: 'check state_dir in the configuration' });
  if (!force && existsSync(dest))
    throw new ReprofarmError(`${dest} exists; not overwriting it`, { advice: 'choose another file name, or pass --force to replace it' });
  if (!existsSync(dirname(dest))) throw new ReprofarmError(`the directory ${dirname(dest)} does not exist`, { advice: 'create it first' });
  const t0 = performance.now();
  const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const r = await backupDatabase(src, tmp);
    if (r.integrity !== 'ok')
      throw new ReprofarmError(`the copy of ${src} fails its integrity check: ${r.integrity}`, {
        advice: 'check the database itself: sqlite3 reproducible.db "PRAGMA integrity_check"',
      });
    await fsyncPath(tmp);
    if (force) {
      await rename(tmp, dest);
    } else {
      // link() fails when FILE appeared meanwhile: never overwrite without --force
      try {
        await link(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw new ReprofarmError(`${dest} exists; not overwriting it`, { advice: 'choose another file name, or pass --force to replace it' });
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
    rep.line(
      nextSteps(
        format as JobsFormat,
        dir,
        files.map((f) => f.name),
      ),
    );
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

/** The main node's public key for a node: IDENTITY.pub, else derived with ssh-keygen -y. */
async function publicKeyOf(identityFile: string): Promise<string> {
  try {
    return readFileSync(`${identityFile}.pub`, 'utf8');
  } catch {
    try {
      const { stdout } = await promisify(execFile)('ssh-keygen', ['-y', '-f', identityFile], { encoding: 'utf8' });
      return stdout;
    } catch (err) {
      throw new ReprofarmError(`cannot read the public key of ${identityFile}`, {
        cause: err,
        advice: `make it: ssh-keygen -y -f ${identityFile} > ${identityFile}.pub (ssh-keygen is in openssh-client)`,
      });
    }
  }
}

export async function runNodeSetup(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [name, ...rest] = args.positionals;
  if (!name || rest.length > 0) throw new UsageError('node-setup takes one node name');
  const node = config.nodes.get(name);
  if (!node) {
    const s = suggest(name, [...config.nodes.keys()]);
    throw new UsageError(`unknown node "${name}"${s ? `; did you mean "${s}"?` : ''}`, { advice: `configured nodes: ${[...config.nodes.keys()].join(', ')}` });
  }
  const libDir = typeof args.values['lib-dir'] === 'string' ? args.values['lib-dir'] : DEFAULT_LIB_DIR;
  const adminUser = typeof args.values['admin-user'] === 'string' ? args.values['admin-user'] : 'root';
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(adminUser)) throw new UsageError(`--admin-user ${adminUser}: not a user name`);
  const adminIdentity = typeof args.values['admin-identity'] === 'string' ? resolve(args.values['admin-identity']) : node.identityFile;
  const plan = nodeSetupPlan(node, node.transport === 'local' ? '' : await publicKeyOf(node.identityFile), { libDir, comment: `reprofarm@${hostname()}` });
  if (!args.values.apply) {
    if (args.values.json) {
      rep.json({
        node: plan.node,
        user: plan.user,
        workdir: plan.workdir,
        lib_dir: plan.libDir,
        authorized_keys_line: plan.authorizedKeysLine,
        script: plan.script,
      });
    } else {
      rep.out.write(plan.script);
    }
    rep.line(`${name} needs: the build user ${plan.user}, its workdir ${plan.workdir}, the wrapper in ${plan.libDir} and this authorized_keys line:`);
    rep.line(`  ${plan.authorizedKeysLine}`);
    rep.line(
      `Run the script above as root on the node (reprofarm node-setup ${name} | ssh root@${node.host} sh -s), or let reprofarm do it: reprofarm node-setup ${name} --apply`,
    );
    return 0;
  }
  const admin = { ...node, user: adminUser, identityFile: adminIdentity };
  const t = await openTransport(admin, { timeoutMs: config.collect.timeout * 1000 });
  try {
    const r = await t.exec(adminUser === 'root' ? ['sh', '-s'] : ['sudo', '-n', 'sh', '-s'], { stdin: plan.script, timeoutMs: 300_000 });
    for (const l of r.stdout.toString('utf8').split('\n').filter(Boolean)) rep.line(termSafe(l));
    if (r.code !== 0) {
      throw new ReprofarmError(
        `the set-up script failed on ${name} as ${adminUser} (exit ${r.code ?? r.signal ?? 'timeout'}): ${termSafe(r.stderr.toString('utf8').trim().slice(-500))}`,
        {
          advice:
            adminUser === 'root'
              ? 'read the message above; the script can be printed and run by hand: reprofarm node-setup NODE'
              : `${adminUser} needs passwordless sudo on the node (sudo -n), or use --admin-user root`,
        },
      );
    }
  } finally {
    t.close();
  }
  rep.line(
    `Set up ${name}: ${plan.user} logs in with the main node's key only through ${plan.libDir}/node-wrapper.sh; check it: reprofarm collect ${name}`,
    true,
  );
  if (args.values.json)
    rep.json({ node: plan.node, user: plan.user, workdir: plan.workdir, lib_dir: plan.libDir, authorized_keys_line: plan.authorizedKeysLine, applied: true });
  return 0;
}
