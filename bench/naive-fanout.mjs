// The collector issue's reference point: a bare ssh2 + p-limit fan-out, one
// connection per node, with no config, no DB and no validation. The collector
// benchmark runs it beside `reprofarm collect` to show what the sshd side of
// the loopback farm leaves to any ssh2 client on the same cores.
//
//   node bench/naive-fanout.mjs SPEC.json MODE OUTDIR
//
// SPEC.json: { user, identityFile, hostPublicKey, concurrency, workdir,
//              infoScript, nodes: [{ name, host, port }] }
// MODE: "info"  run `sh -s -- WORKDIR` with the info script on stdin and write
//               each node's output to OUTDIR/NODE (what the loop and pssh do)
//       "true"  connect, authenticate and run `true`: the sshd side's floor
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';

const [specFile, mode, outDir] = process.argv.slice(2);
if (!specFile || (mode !== 'info' && mode !== 'true') || !outDir) {
  console.error('usage: naive-fanout.mjs SPEC.json info|true OUTDIR');
  process.exit(64);
}
const spec = JSON.parse(readFileSync(specFile, 'utf8'));
const privateKey = readFileSync(spec.identityFile);
const script = readFileSync(spec.infoScript);
const hostKey = Buffer.from(spec.hostPublicKey.split(' ')[1], 'base64');

function collectOne(node) {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('error', reject);
    client.on('ready', () => {
      const command = mode === 'info' ? `sh -s -- ${spec.workdir}` : 'true';
      client.exec(command, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        const out = [];
        stream.on('data', (c) => out.push(c));
        stream.stderr.resume();
        stream.on('close', (code) => {
          client.end();
          if (code !== 0) reject(new Error(`${node.name}: exit ${code}`));
          else resolve(Buffer.concat(out));
        });
        stream.end(mode === 'info' ? script : undefined);
      });
    });
    client.connect({
      host: node.host,
      port: node.port,
      username: spec.user,
      privateKey,
      hostVerifier: (key) => key.equals(hostKey),
    });
  });
}

const limit = pLimit(spec.concurrency);
const results = await Promise.allSettled(
  spec.nodes.map((node) =>
    limit(async () => {
      const out = await collectOne(node);
      if (mode === 'info') writeFileSync(path.join(outDir, node.name), out);
    }),
  ),
);
const failed = results.filter((r) => r.status === 'rejected');
for (const f of failed) console.error(String(f.reason));
process.exit(failed.length > 0 ? 1 : 0);
