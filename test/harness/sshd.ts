/**
 * Test harness: private OpenSSH sshd instances on loopback ports.
 *
 * A "farm" is a temp dir holding one host key, one user key, an
 * authorized_keys file, a known_hosts file and one workdir per node, plus
 * ceil(N/16) sshd processes listening on 127.0.0.1 (sshd accepts at most 16
 * listen sockets per process). Every node is a distinct loopback port; all
 * nodes log in as one dedicated unprivileged user (default `rfnode`, shell
 * /bin/sh) because root's login environment is slow and noisy.
 *
 * Runs as root (creates the node user, chowns workdirs, runs sshd). It never
 * touches the system sshd service: every sshd gets its own config, pid file
 * and host key under the farm dir and is started as our own child process.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ssh2, { type Connection } from 'ssh2';

const execFileP = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
export const SSH = '/usr/bin/ssh';

/** sshd's MAX_LISTEN_SOCKS: more ListenAddress lines make it fail. */
const MAX_PORTS_PER_SSHD = 16;
const READY_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 2_000;
/** Attempts per sshd process when a picked port got stolen in the meantime. */
const BIND_ATTEMPTS = 3;
const LOOPBACK = '127.0.0.1';
/** sshd log lines meaning a listen socket could not be bound. */
const BIND_FAILED = /Bind to port|Address already in use|Cannot bind any address/;

export interface FarmNodeSpec {
  name: string;
  forceCommand?: string;
}

export interface FarmNode {
  name: string;
  host: string;
  port: number;
  workdir: string;
}

export interface SshFarm {
  dir: string; // the farm's temp dir
  user: string; // node user name
  identityFile: string; // private user key (OpenSSH format, ed25519)
  knownHostsFile: string; // plain known_hosts for all nodes
  hostPublicKey: string; // "ssh-ed25519 AAAA..." (no comment)
  adminIdentityFile: string | undefined; // root's key, with `admin: true`
  nodes: FarmNode[];
  node(name: string): FarmNode; // throws if unknown
  writeHashedKnownHosts(file: string): Promise<void>;
  /** YAML text of a `nodes:` mapping for reprofarm.yaml covering all farm nodes, e.g.
   *  nodes:\n  n01:\n    host: 127.0.0.1\n    port: 40123\n    user: rfnode\n    identity_file: /tmp/...\n    known_hosts: /tmp/...\n    workdir: /tmp/.../workdir\n */
  nodesYaml(): string;
  stop(): Promise<void>; // kill all sshd (SIGTERM, then SIGKILL after 2 s), remove the farm dir
}

export interface StartSshFarmOptions {
  nodes: number | FarmNodeSpec[];
  /** Node login user; created if missing. Default `rfnode`. */
  user?: string;
  /** Parent dir of the farm dir; default os.tmpdir(). */
  dir?: string;
  /**
   * Also let root log in, with a second key (`adminIdentityFile`), as an
   * administrator setting nodes up does. Keys then come from the farm's
   * `authorized_keys.<user>` and, after it, the user's own ~/.ssh/authorized_keys.
   */
  admin?: boolean;
  /** More users that may log in (with keys from their own ~/.ssh/authorized_keys), e.g. build users a test creates. */
  allowUsers?: string[];
}

// ---------------------------------------------------------------------------
// Small public helpers
// ---------------------------------------------------------------------------

/** known_hosts host pattern for a loopback node: `[127.0.0.1]:PORT`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Hashed known_hosts host field as written by `ssh-keygen -H`:
 * `|1|base64(salt)|base64(HMAC-SHA1(key=salt, data=name))`, salt 20 random bytes.
 */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

/**
 * Pick `count` distinct free loopback ports by binding servers on port 0 and
 * closing them again. Inherently racy (someone may grab a port before sshd
 * binds it); the farm start-up detects that and retries with new ports.
 */
export async function pickFreePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    // Keep all servers open until every port is read so the ports are distinct.
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, LOOPBACK, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Listen on a free loopback port; close() (once, however often called) stops listening and drops the clients. */
async function listenOnLoopback(server: net.Server, dropClients: () => void): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropClients();
      });
      return closed;
    },
  };
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never writes a byte:
 * simulates a hung node (e.g. a wedged sshd or a black-holed host).
 */
export async function silentTcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}); // client resets are expected
    socket.on('close', () => sockets.delete(socket));
  });
  const { port, close } = await listenOnLoopback(server, () => {
    for (const s of sockets) s.destroy();
  });
  return {
    port,
    close,
  };
}

/**
 * An SSH server (ssh2's in-process Server) that completes the handshake and
 * accepts any public key, then hangs: it never answers the session channel
 * (`stuckAt: 'session'`) or never answers the command (`stuckAt: 'exec'`).
 * A real sshd cannot be made to do that on purpose; it simulates a node whose
 * sshd is wedged after login (no process slots, a hung PAM module...).
 * `knownHostsLine` is its host key, for the client's known_hosts file.
 */
export async function stuckSshServer(stuckAt: 'session' | 'exec'): Promise<{ port: number; knownHostsLine: string; close(): Promise<void> }> {
  const pair = ssh2.utils.generateKeyPairSync('ed25519');
  const clients = new Set<Connection>();
  const server = new ssh2.Server({ hostKeys: [pair.private] }, (client) => {
    clients.add(client);
    client.on('error', () => {}); // client resets are expected
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('session', (accept) => {
      if (stuckAt === 'session') return; // never confirmed
      const session = accept();
      session.on('exec', () => {}); // never answered, never run
    });
  });
  const { port, close } = await listenOnLoopback(server, () => {
    for (const c of clients) c.end();
  });
  return {
    port,
    knownHostsLine: `${knownHostsName(LOOPBACK, port)} ${pair.public.split(' ').slice(0, 2).join(' ')}\n`,
    close,
  };
}

/**
 * Arguments for the real OpenSSH client (`/usr/bin/ssh`) to log into `node`,
 * isolated from root's ~/.ssh/config and the system known_hosts. Append the
 * remote command after these.
 */
export function opensshArgs(farm: Pick<SshFarm, 'identityFile' | 'knownHostsFile' | 'user'>, node: FarmNode, opts: { knownHostsFile?: string } = {}): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    farm.identityFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${opts.knownHostsFile ?? farm.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(node.port),
    `${farm.user}@${node.host}`,
  ];
}

// ---------------------------------------------------------------------------
// Process bookkeeping
// ---------------------------------------------------------------------------

/** All sshd children still alive in this process; SIGKILLed if we exit without stop(). */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous; kill() is. Best effort only.
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after KILL_GRACE_MS. */
async function terminate(child: ChildProcess): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  child.kill('SIGTERM');
  if (await waitExit(child, KILL_GRACE_MS)) return;
  child.kill('SIGKILL');
  await waitExit(child, KILL_GRACE_MS);
}

// ---------------------------------------------------------------------------
// System preparation
// ---------------------------------------------------------------------------

const INSTALL_HINT = 'install it: apt-get install --no-install-recommends openssh-server';

async function requireTool(file: string): Promise<void> {
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch {
    throw new Error(`${file} is missing; ${INSTALL_HINT}`);
  }
}

async function run(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(file, args, { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** getent line split into fields, or undefined if the entry does not exist. */
async function getent(db: 'passwd' | 'shadow', key: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await execFileP('getent', [db, key], { encoding: 'utf8' });
    return stdout.trim().split(':');
  } catch {
    return undefined; // exit 2: no such entry
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Retry a shadow-suite command: concurrent test workers may both run
 * useradd/usermod and one then fails on the /etc/passwd lock.
 */
async function retryShadow<T>(what: () => Promise<T>, done: () => Promise<boolean>): Promise<void> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await done()) return;
    try {
      await what();
    } catch (err) {
      lastErr = err;
      await sleep(100 + Math.random() * 200);
    }
  }
  if (await done()) return;
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

interface UserInfo {
  uid: number;
  gid: number;
}

const userCache = new Map<string, Promise<UserInfo>>();

/** Create the node user if missing and make sure sshd will let it log in. */
function ensureUser(user: string): Promise<UserInfo> {
  let p = userCache.get(user);
  if (!p) {
    p = ensureUserUncached(user);
    p.catch(() => userCache.delete(user)); // allow a later retry
    userCache.set(user, p);
  }
  return p;
}

async function ensureUserUncached(user: string): Promise<UserInfo> {
  await retryShadow(
    () => run('useradd', ['--system', '--create-home', '--shell', '/bin/sh', user]),
    async () => (await getent('passwd', user)) !== undefined,
  );
  // useradd leaves the password field as "!" (locked). Without PAM, sshd
  // refuses *any* login (even pubkey) to a locked account; "*" means "no
  // valid password" but not locked.
  const unlocked = async (): Promise<boolean> => !(await getent('shadow', user))?.[1]?.startsWith('!');
  await retryShadow(() => run('usermod', ['-p', '*', user]), unlocked);
  await retryShadow(
    () => addSubIds(user),
    async () => (await subIdLine(user)) !== undefined,
  );

  const pw = await getent('passwd', user);
  const uid = Number(pw?.[2]);
  const gid = Number(pw?.[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`cannot parse passwd entry for ${user}: ${pw?.join(':')}`);
  }
  return { uid, gid };
}

/** The user's line of /etc/subuid, if it has one. */
async function subIdLine(user: string): Promise<string | undefined> {
  const text = await fs.readFile('/etc/subuid', 'utf8').catch(() => '');
  return text.split('\n').find((l) => l.startsWith(`${user}:`));
}

/**
 * A subuid/subgid range of its own (useradd --system gives none): the chroot
 * backend maps its build users into it (unshare --map-users=auto). The next
 * free 65536 ids above every range in /etc/subuid and /etc/subgid.
 */
async function addSubIds(user: string): Promise<void> {
  let next = 100000;
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of (await fs.readFile(file, 'utf8').catch(() => '')).split('\n')) {
      const [, start, count] = line.split(':');
      if (start && count) next = Math.max(next, Number(start) + Number(count));
    }
  }
  const range = `${next}-${next + 65535}`;
  await run('usermod', ['--add-subuids', range, '--add-subgids', range, user]);
}

/** sshd must be able to chroot into its privilege separation dir. */
async function ensurePrivsepDir(): Promise<void> {
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await fs.chmod('/run/sshd', 0o755);
}

/** [major, minor] of the installed OpenSSH server (`sshd -V` prints to stderr). */
async function sshdVersion(): Promise<[number, number]> {
  const out = await new Promise<string>((resolve) => {
    execFile(SSHD, ['-V'], { encoding: 'utf8' }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** The node user must be able to traverse every ancestor of the farm dir. */
async function checkTraversable(dir: string): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      throw new Error(
        `${d} is not world-traversable (mode ${(st.mode & 0o777).toString(8)}); ` +
          'the sshd node user could not reach the farm dir. Use a parent dir like /tmp.',
      );
    }
    if (d === path.dirname(d)) return;
  }
}

// ---------------------------------------------------------------------------
// sshd processes
// ---------------------------------------------------------------------------

interface FarmContext {
  dir: string;
  user: string;
  /** AllowUsers beyond `user` */
  moreUsers: string[];
  permitRoot: boolean;
  hostKey: string;
  authorizedKeys: string;
  /** Extra global options depending on the sshd version. */
  extraOptions: string[];
}

interface SshdProcess {
  child: ChildProcess;
  ports: number[];
  logFile: string;
}

function sshdConfig(ctx: FarmContext, index: number, specs: FarmNodeSpec[], ports: number[]): string {
  const lines = [
    '# generated by reprofarm test harness; not the system sshd',
    ...ports.map((p) => `ListenAddress ${LOOPBACK}:${p}`),
    `HostKey ${ctx.hostKey}`,
    `PidFile ${path.join(ctx.dir, `sshd-${index}.pid`)}`,
    `AuthorizedKeysFile ${ctx.authorizedKeys}`,
    `AllowUsers ${[ctx.user, ...ctx.moreUsers].join(' ')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    `PermitRootLogin ${ctx.permitRoot ? 'prohibit-password' : 'no'}`,
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'MaxStartups 200:30:400',
    'MaxSessions 64',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    ...ctx.extraOptions,
  ];
  // Match blocks must come last: everything after a Match line is conditional.
  specs.forEach((spec, i) => {
    if (spec.forceCommand !== undefined) {
      lines.push(`Match LocalPort ${ports[i]}`, `    ForceCommand ${spec.forceCommand}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Connect to the port and require an SSH identification string (proves it is
 * an sshd, not e.g. a port thief that merely accepts connections).
 */
function probeSsh(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    let buf = '';
    let sawBanner = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (sawBanner) return;
      buf += chunk;
      if (buf.startsWith('SSH-')) {
        sawBanner = true;
        // Send our own identification before hanging up: a client that closes
        // before sending one makes sshd log "kex_exchange_identification:
        // Connection closed by remote host" at ERROR level, littering the log
        // we show on failures. After it, the hang-up is only logged at INFO.
        socket.end('SSH-2.0-reprofarm_probe\r\n');
      } else if (buf.length >= 4) {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(sawBanner);
    });
  });
}

class SshdStartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

async function readLog(file: string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return '';
  }
}

/** Start one sshd serving `specs` on `ports` and wait until all ports answer with an SSH banner. */
async function startSshd(ctx: FarmContext, index: number, specs: FarmNodeSpec[], ports: number[]): Promise<SshdProcess> {
  const confFile = path.join(ctx.dir, `sshd-${index}.conf`);
  const logFile = path.join(ctx.dir, `sshd-${index}.log`);
  const config = sshdConfig(ctx, index, specs, ports);
  await fs.writeFile(confFile, config, { mode: 0o644 });

  // sshd re-execs itself, so it must be invoked by absolute path. -D: stay in
  // the foreground (our child), -e: log to stderr (-> log file).
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(SSHD, ['-D', '-e', '-f', confFile], { stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd); // the child has its own copy
  }
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  track(child);

  const fail = async (why: string): Promise<never> => {
    await terminate(child);
    const log = await readLog(logFile);
    throw new SshdStartError(
      // The farm dir is removed on failure, so quote the config (sshd's errors cite line numbers).
      `sshd #${index} (ports ${ports.join(',')}) ${why}\n--- sshd log:\n${log || '(empty)'}\n--- ${confFile}:\n${config}`,
      BIND_FAILED.test(log),
    );
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pending = new Set(ports);
  while (pending.size > 0) {
    if (spawnError) return fail(`could not be spawned: ${spawnError.message}`);
    if (hasExited(child)) {
      return fail(`exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (Date.now() > deadline) {
      return fail(`not ready within ${READY_TIMEOUT_MS / 1000} s (ports still closed: ${[...pending].join(',')})`);
    }
    const results = await Promise.all([...pending].map(async (p) => [p, await probeSsh(p)] as const));
    for (const [p, ok] of results) if (ok) pending.delete(p);
    // sshd does not exit when only *some* ListenAddresses fail to bind: it
    // logs "Bind to port N on 127.0.0.1 failed: Address already in use." and
    // serves the rest. Fail fast (the caller retries with fresh ports) instead
    // of waiting for the deadline, and never trust a probe that may have hit
    // another sshd that stole the port.
    if (BIND_FAILED.test(await readLog(logFile))) return fail('could not bind all its ports');
    if (pending.size > 0) await sleep(50);
  }

  return { child, ports, logFile };
}

/** startSshd with fresh ports when a picked port got taken before sshd bound it. */
async function startSshdWithRetry(ctx: FarmContext, index: number, specs: FarmNodeSpec[], ports: number[]): Promise<SshdProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSshd(ctx, index, specs, ports);
    } catch (err) {
      if (!(err instanceof SshdStartError) || !err.addressInUse || attempt >= BIND_ATTEMPTS) throw err;
      ports = await pickFreePorts(specs.length);
    }
  }
}

// ---------------------------------------------------------------------------
// Farm
// ---------------------------------------------------------------------------

function normalizeSpecs(nodes: number | FarmNodeSpec[]): FarmNodeSpec[] {
  const specs: FarmNodeSpec[] = typeof nodes === 'number' ? Array.from({ length: nodes }, (_, i) => ({ name: `n${String(i + 1).padStart(2, '0')}` })) : nodes;
  if (specs.length === 0) throw new Error('startSshFarm: need at least one node');
  const seen = new Set<string>();
  for (const s of specs) {
    // Names become path components and YAML keys.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s.name)) throw new Error(`bad node name: ${JSON.stringify(s.name)}`);
    if (seen.has(s.name)) throw new Error(`duplicate node name: ${s.name}`);
    seen.add(s.name);
    // ForceCommand takes the rest of its config line verbatim.
    if (s.forceCommand !== undefined && (/[\r\n]/.test(s.forceCommand) || s.forceCommand.trim() === '')) {
      throw new Error(`bad forceCommand for ${s.name}: must be a non-empty single line`);
    }
  }
  return specs;
}

/** YAML scalar: plain when obviously safe, else a JSON (= YAML double-quoted) string. */
function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_./][A-Za-z0-9_./-]*$/.test(s) ? s : JSON.stringify(s);
}

async function keygen(file: string, comment: string): Promise<string> {
  await run(SSH_KEYGEN, ['-q', '-N', '', '-t', 'ed25519', '-C', comment, '-f', file]);
  // "ssh-ed25519 AAAA... comment" -> drop the comment
  const [type, blob] = (await fs.readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/);
  if (!type || !blob) throw new Error(`unexpected public key in ${file}.pub`);
  return `${type} ${blob}`;
}

export async function startSshFarm(opts: StartSshFarmOptions): Promise<SshFarm> {
  const user = opts.user ?? 'rfnode';
  for (const u of [user, ...(opts.allowUsers ?? [])]) if (!/^[a-z_][a-z0-9_-]*$/.test(u)) throw new Error(`bad user name: ${u}`);
  const perUserKeys = opts.admin === true || (opts.allowUsers?.length ?? 0) > 0;
  const specs = normalizeSpecs(opts.nodes);
  await requireTool(SSHD);
  await requireTool(SSH_KEYGEN);

  const [{ uid, gid }, version] = await Promise.all([ensureUser(user), sshdVersion(), ensurePrivsepDir()]);

  const parent = path.resolve(opts.dir ?? os.tmpdir());
  const dir = await fs.mkdtemp(path.join(parent, 'reprofarm-sshd-'));
  const processes: SshdProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(processes.map((p) => terminate(p.child)));
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    // mkdtemp creates 0700; the node user reads authorized_keys and enters its workdir through it.
    await fs.chmod(dir, 0o755);
    await checkTraversable(dir);

    const hostKey = path.join(dir, 'ssh_host_ed25519_key');
    const identityFile = path.join(dir, 'id_ed25519');
    const adminIdentityFile = opts.admin ? path.join(dir, 'admin_id_ed25519') : undefined;
    // with more users, each has its own farm file (%u), then its own ~/.ssh/authorized_keys
    const authorizedKeys = perUserKeys ? `${path.join(dir, 'authorized_keys.%u')} .ssh/authorized_keys` : path.join(dir, 'authorized_keys');
    const knownHostsFile = path.join(dir, 'known_hosts');
    const [hostPublicKey, userPublicKey, adminPublicKey] = await Promise.all([
      keygen(hostKey, 'reprofarm-test-host'),
      keygen(identityFile, 'reprofarm-test-user'),
      adminIdentityFile ? keygen(adminIdentityFile, 'reprofarm-test-admin') : undefined,
    ]);
    // sshd reads authorized_keys with the user's privileges.
    await fs.writeFile(path.join(dir, perUserKeys ? `authorized_keys.${user}` : 'authorized_keys'), `${userPublicKey}\n`, { mode: 0o644 });
    if (adminPublicKey) await fs.writeFile(path.join(dir, 'authorized_keys.root'), `${adminPublicKey}\n`, { mode: 0o644 });

    const workdirs = await Promise.all(
      specs.map(async (s) => {
        const nodeDir = path.join(dir, 'nodes', s.name);
        const workdir = path.join(nodeDir, 'workdir');
        await fs.mkdir(workdir, { recursive: true, mode: 0o755 });
        await fs.chown(workdir, uid, gid);
        return workdir;
      }),
    );

    const ctx: FarmContext = {
      dir,
      user,
      moreUsers: [...(opts.admin ? ['root'] : []), ...(opts.allowUsers ?? [])],
      permitRoot: opts.admin === true,
      hostKey,
      authorizedKeys,
      // OpenSSH >= 9.8 penalises source addresses that fail auth or drop
      // connections early; all test clients share 127.0.0.1, so that would make
      // hung-node/failure tests poison the others. Older sshd rejects the keyword.
      extraOptions: version[0] > 9 || (version[0] === 9 && version[1] >= 8) ? ['PerSourcePenalties no'] : [],
    };

    // All ports picked at once so they are distinct within the farm.
    const allPorts = await pickFreePorts(specs.length);
    const groups: { index: number; specs: FarmNodeSpec[]; ports: number[] }[] = [];
    for (let i = 0; i < specs.length; i += MAX_PORTS_PER_SSHD) {
      groups.push({
        index: groups.length,
        specs: specs.slice(i, i + MAX_PORTS_PER_SSHD),
        ports: allPorts.slice(i, i + MAX_PORTS_PER_SSHD),
      });
    }
    const results = await Promise.allSettled(
      groups.map(async (g) => {
        const p = await startSshdWithRetry(ctx, g.index, g.specs, g.ports);
        processes.push(p);
        return p;
      }),
    );
    // Ports may have changed on retry, so take them from the started processes
    // (results are in group order, groups in spec order).
    const portByIndex: number[] = [];
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      portByIndex.push(...r.value.ports);
    }
    const nodes: FarmNode[] = specs.map((s, i) => {
      const port = portByIndex[i];
      const workdir = workdirs[i];
      if (port === undefined || workdir === undefined) throw new Error('internal: node/port mismatch');
      return { name: s.name, host: LOOPBACK, port, workdir };
    });

    await fs.writeFile(knownHostsFile, nodes.map((n) => `${knownHostsName(n.host, n.port)} ${hostPublicKey}\n`).join(''), { mode: 0o644 });

    const byName = new Map(nodes.map((n) => [n.name, n]));
    let stopped: Promise<void> | undefined;
    return {
      dir,
      user,
      identityFile,
      knownHostsFile,
      hostPublicKey,
      adminIdentityFile,
      nodes,
      node(name: string): FarmNode {
        const n = byName.get(name);
        if (!n) throw new Error(`no such farm node: ${name}`);
        return n;
      },
      async writeHashedKnownHosts(file: string): Promise<void> {
        const lines = nodes.map((n) => `${hashKnownHostsName(knownHostsName(n.host, n.port))} ${hostPublicKey}\n`);
        await fs.writeFile(file, lines.join(''), { mode: 0o644 });
      },
      nodesYaml(): string {
        const out = ['nodes:'];
        for (const n of nodes) {
          out.push(
            `  ${yamlScalar(n.name)}:`,
            `    host: ${n.host}`,
            `    port: ${n.port}`,
            `    user: ${yamlScalar(user)}`,
            `    identity_file: ${yamlScalar(identityFile)}`,
            `    known_hosts: ${yamlScalar(knownHostsFile)}`,
            `    workdir: ${yamlScalar(n.workdir)}`,
          );
        }
        return `${out.join('\n')}\n`;
      },
      stop(): Promise<void> {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
