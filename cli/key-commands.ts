/**
 * `reprofarm key init|rotate` (the farm's Ed25519 signing key under state_dir)
 * and `reprofarm verify FILE [--key PUB] [--site URL|DIR]`: exit 0 when the
 * file checks out, 1 with the reason when not, 64 for usage.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { UsageError } from '../core/errors.js';
import { STATE_LAYOUT } from '../core/protocol.js';
import { AttestationError } from '../attest/dsse.js';
import { initKey, rotateKey } from '../attest/keys.js';
import { keyFromPem, siteKeys, verifyBundle, verifyDeb, type KeySource, type Verified } from '../attest/verify.js';
import type { ParsedArgs } from './args.js';
import { termSafe, type Reporter } from './output.js';

export async function runKey(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [verb, ...extra] = args.positionals;
  if ((verb !== 'init' && verb !== 'rotate') || extra.length > 0) throw new UsageError('key needs init or rotate', { advice: 'reprofarm key init' });
  if (verb === 'init') {
    const k = await initKey(config.stateDir);
    rep.line(`made the signing key ${k.keyid} (${STATE_LAYOUT.signingKey(config.stateDir)}, mode 0600); the site publishes its public half`, true);
    if (args.values.json) rep.json(k);
    return 0;
  }
  const r = await rotateKey(config.stateDir);
  for (const k of r.retired) rep.line(`retired ${k.keyid} (valid ${k.valid_from} to ${k.valid_until ?? ''}); its attestations still verify`, true);
  rep.line(`the signing key is now ${r.current.keyid}`, true);
  if (args.values.json) rep.json(r);
  return 0;
}

async function keySource(args: ParsedArgs): Promise<KeySource | undefined> {
  const key = args.values.key;
  if (typeof key === 'string') {
    let pem: string;
    try {
      pem = await readFile(key, 'utf8');
    } catch {
      throw new UsageError(`--key ${key}: cannot read it`);
    }
    return keyFromPem(pem, key);
  }
  return typeof args.values.site === 'string' ? siteKeys(args.values.site) : undefined;
}

function describe(v: Verified, rep: Reporter): void {
  const p = v.statement.predicate;
  if (v.file) rep.line(`${termSafe(v.file.name)}: SHA256 ${v.file.sha256}, made by build ${v.file.builds.join(' and ') || '?'}`, true);
  rep.line(
    `${termSafe(p.package)} ${termSafe(p.version)} ${termSafe(p.suite)}/${termSafe(p.architecture)}: ${termSafe(p.status)}, recorded ${termSafe(p.recorded_at)}`,
    true,
  );
  for (const b of p.builds)
    rep.line(`  build ${b.build} on ${termSafe(b.node)}, started ${termSafe(b.started_at)}, ${b.duration_s} s, exit ${String(b.exit_code)}`, true);
  if (p.verdict)
    rep.line(`  verdict: ${termSafe(p.verdict.verdict)}${p.verdict.culprits.length ? ` (${p.verdict.culprits.map(termSafe).join(', ')})` : ''}`, true);
  rep.line(`signed by ${v.keyid} at ${termSafe(p.issued_at)}: OK`, true);
}

export async function runVerify(config: Config, args: ParsedArgs, rep: Reporter): Promise<number> {
  const [file, ...extra] = args.positionals;
  if (!file || extra.length > 0)
    throw new UsageError('verify needs one FILE (a .deb or an .intoto.jsonl)', { advice: 'reprofarm verify hello_1.0_amd64.deb --site https://farm.example/' });
  const site = typeof args.values.site === 'string' ? args.values.site : undefined;
  try {
    const keys = await keySource(args);
    let v: Verified;
    if (/\.u?deb$/.test(file)) {
      if (!site) throw new UsageError('verify FILE.deb needs --site (where its attestation is published)');
      v = await verifyDeb(file, site, config.suites, config.architectures, keys);
    } else {
      if (!keys) throw new UsageError('verify ATTESTATION needs --key PUB or --site URL|DIR (where the keys are)');
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        throw new UsageError(`cannot read ${file}`);
      }
      v = verifyBundle(text, keys);
    }
    describe(v, rep);
    if (args.values.json) rep.json({ ok: true, keyid: v.keyid, file: v.file ?? null, statement: v.statement });
    return 0;
  } catch (err) {
    if (!(err instanceof AttestationError)) throw err;
    rep.line(`${termSafe(file)}: does not check out: ${termSafe(err.message)} (${err.kind})`, true);
    if (args.values.json) rep.json({ ok: false, reason: err.kind, message: err.message });
    return 1;
  }
}
