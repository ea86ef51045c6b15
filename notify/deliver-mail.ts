/**
 * Mail through sendmail: spawned with an argument array (`-t -oi`, never a shell), the headers
 * written by us from validated values only: an address, a status, a package name. A header value
 * holding CR or LF is refused, so no header can be injected.
 */
import { spawn } from 'node:child_process';
import type { MailConfig } from '../core/config.js';
import { EMAIL_RE, PACKAGE_RE } from '../core/config/schema.js';
import { STATUSES } from '../core/statuses.js';
import { ReprofarmError } from '../core/errors.js';
import type { Message, NotifyEvent } from './events.js';

function header(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new ReprofarmError(`mail header ${name}: a value with a line break is refused`);
  return `${name}: ${value}`;
}

const known = (s: string): string => ((STATUSES as readonly string[]).includes(s) ? s : 'unknown');
const name = (p: string): string => (PACKAGE_RE.test(p) ? p : 'a package');

export function subject(events: readonly NotifyEvent[]): string {
  const [first] = events;
  if (!first) return '[reprofarm] no status changes';
  if (first.type === 'test') return '[reprofarm] test notification';
  if (events.length === 1) return `[reprofarm] ${name(first.package)}: ${known(first.old_status)} -> ${known(first.status)}`;
  const names = [...new Set(events.map((e) => name(e.package)))];
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
  return `[reprofarm] ${events.length} status changes: ${shown}`;
}

/** The whole mail: headers, a blank line, one paragraph per event. */
export function mailText(m: MailConfig, msg: Message): string {
  for (const a of [...m.to, ...(m.from ? [m.from] : [])]) if (!EMAIL_RE.test(a)) throw new ReprofarmError(`mail address ${JSON.stringify(a)} is refused`);
  const head = [
    header('To', m.to.join(', ')),
    ...(m.from ? [header('From', m.from)] : []),
    header('Subject', subject(msg.events)),
    header('MIME-Version', '1.0'),
    header('Content-Type', 'text/plain; charset=utf-8'),
    header('Content-Transfer-Encoding', '8bit'),
    header('Auto-Submitted', 'auto-generated'),
    header('X-Reprofarm-Delivery', msg.delivery),
  ];
  const body = msg.events.map((e) =>
    [
      `${e.package} ${e.version} in ${e.suite}/${e.architecture}: ${e.old_status} -> ${e.status}` +
        (e.old_version && e.old_version !== e.version ? ` (was ${e.old_version})` : ''),
      `  ${e.url}`,
      `  event ${e.id}, ${e.build_date}`,
    ].join('\n'),
  );
  return `${head.join('\n')}\n\n${body.join('\n\n')}\n`;
}

/** Run sendmail with the mail on its stdin; throws with its exit status and what it printed. */
export function sendMail(m: MailConfig, msg: Message, timeoutS: number): Promise<void> {
  const text = mailText(m, msg);
  return new Promise((resolve, reject) => {
    const child = spawn(m.sendmail, ['-t', '-oi'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    child.on('error', (e) =>
      reject(
        new ReprofarmError(`${m.sendmail}: ${e.message}`, {
          advice: 'install a sendmail (e.g. the Debian package msmtp-mta or exim4) or set notify.mail.sendmail',
        }),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new ReprofarmError(
            `${m.sendmail} -t -oi ${signal ? `was killed (${signal})` : `exited ${code}`}${err ? `: ${err.trim().replace(/\s+/g, ' ')}` : ''}`,
          ),
        );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}
