// A real Mosquitto broker per test: own port, own temp dir, own log. Tests
// against a real broker catch what a mock cannot (retain semantics, Will
// delivery, what survives a broker restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

export interface BrokerOptions {
  /** Keep retained messages and sessions across restart() (mosquitto.db in the temp dir). Default false. */
  persistence?: boolean;
  /** How long start/restart may wait for the listener. Default 10 s. */
  startTimeoutMs?: number;
  /** Extra mosquitto.conf lines, appended after the harness's own (e.g. 'sys_interval 1'). Default none. */
  extraConfig?: readonly string[];
}

export interface Broker {
  /** mqtt://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding mosquitto.conf, mosquitto.log and (with persistence) mosquitto.db. */
  readonly dir: string;
  /** True while the mosquitto process is alive. */
  readonly running: boolean;
  /** SIGTERM and wait for exit: a clean shutdown (persistence is written, no Will is sent for the broker). */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash, nothing is flushed. */
  kill(): Promise<void>;
  /** stop() if running, then start again on the same port with the same config. */
  restart(): Promise<void>;
  /** The broker log so far (log file plus anything mosquitto wrote to stdout/stderr). */
  log(): string;
  /** stop() if running and remove the temp dir. Safe to call more than once. */
  cleanup(): Promise<void>;
}

// Debian installs mosquitto in /usr/sbin, which a non-login PATH may lack.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function findMosquitto(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const p = join(dir, 'mosquitto');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return null;
}

let cachedPath: string | null | undefined;

function mosquittoPath(): string | null {
  if (cachedPath === undefined) cachedPath = findMosquitto();
  return cachedPath;
}

/** The mosquitto binary startBroker() would run, or null when it is not installed. Prints nothing. */
export function mosquittoBinary(): string | null {
  return mosquittoPath();
}

function ciIsSet(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Gate for broker test files: `const skip = requireMosquitto(); describe.skipIf(skip)(...)`.
 * Returns false when mosquitto is usable. Otherwise prints the reason and returns it so
 * the suite is skipped - except when CI is set: then it throws, failing the test file,
 * because CI must actually exercise the broker tests (same contract as requireLab()).
 */
export function requireMosquitto(): string | false {
  if (mosquittoPath() !== null) return false;
  const reason = 'mosquitto not found on PATH or in sbin (apt-get install mosquitto)';
  if (ciIsSet()) throw new Error(`broker prerequisites missing under CI: ${reason}`);
  console.warn(`[broker] skipping Mosquitto tests: ${reason}`);
  return reason;
}

/** Asks the kernel for a free loopback port. Racy by nature: startBroker() retries on EADDRINUSE. */
/** A loopback TCP port free at the time of asking (another process may still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the probe port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines = 30): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

class AddressInUse extends Error {}

// Every broker not yet cleaned up, running or not: stopAllBrokers() removes them all.
const tracked = new Set<MosquittoBroker>();
let exitHookInstalled = false;

// Last resort when a worker exits without afterAll running: no event loop is
// left, so only a synchronous kill is possible. Temp dirs may leak then; that
// is the lesser evil compared to an orphaned broker holding a port.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const b of tracked) b.killSync();
  });
}

class MosquittoBroker implements Broker {
  readonly dir: string;
  port = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stdio = '';
  private cleaned = false;

  constructor(
    dir: string,
    private readonly bin: string,
    private readonly persistence: boolean,
    private readonly startTimeoutMs: number,
    private readonly extraConfig: readonly string[] = [],
  ) {
    this.dir = dir;
    tracked.add(this);
    installExitHook();
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  private get confPath(): string {
    return join(this.dir, 'mosquitto.conf');
  }

  private get logPath(): string {
    return join(this.dir, 'mosquitto.log');
  }

  private logFile(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return ''; // not written yet (or dir already removed)
    }
  }

  log(): string {
    const file = this.logFile();
    return this.stdio === '' ? file : `${file}${file.endsWith('\n') || file === '' ? '' : '\n'}[stdio]\n${this.stdio}`;
  }

  private async writeConfig(): Promise<void> {
    const dataDir = join(this.dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const lines = [
      '# Written by test/broker/mosquitto.ts for one test run.',
      // Started as root, mosquitto drops to user "mosquitto", which cannot
      // write into our 0700 temp dir. Naming the current user keeps it as is
      // ("root" means "do not drop"); for non-root users the option is ignored.
      `user ${userInfo().username}`,
      `listener ${this.port} 127.0.0.1`,
      'allow_anonymous true',
      `persistence ${this.persistence ? 'true' : 'false'}`,
      // Trailing slash: mosquitto concatenates this with the db file name.
      `persistence_location ${dataDir}/`,
      `log_dest file ${this.logPath}`,
      'log_type all',
      'connection_messages true',
      'log_timestamp true',
      'log_timestamp_format %Y-%m-%dT%H:%M:%S',
      // No pid_file: nothing outside the temp dir is written.
      ...this.extraConfig,
      '',
    ];
    await writeFile(this.confPath, lines.join('\n'));
  }

  /** Spawns mosquitto on this.port and waits for the listener. Throws AddressInUse when the port was taken. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`broker on port ${this.port} is already running`);
    if (this.cleaned) throw new Error('broker was cleaned up; start a new one');
    await this.writeConfig();
    const logBefore = this.logFile().length;
    const stdioBefore = this.stdio.length;
    const child = spawn(this.bin, ['-c', this.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { this.stdio += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stdio += d; });
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // spawn failures (ENOENT, EACCES) emit 'error' and may never emit 'exit'.
      child.once('error', (err) => {
        this.stdio += `spawn error: ${err.message}\n`;
        resolve();
      });
    });
    await this.waitReady(child, logBefore, stdioBefore);
  }

  private async waitReady(child: ChildProcess, logBefore: number, stdioBefore: number): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let connectedSince: number | null = null;
    for (;;) {
      const exitedEarly = child.exitCode !== null || child.signalCode !== null || this.stdio.includes('spawn error:');
      const fresh = `${this.logFile().slice(logBefore)}\n${this.stdio.slice(stdioBefore)}`;
      if (exitedEarly) {
        this.child = null;
        if (/address already in use/i.test(fresh)) {
          throw new AddressInUse(`mosquitto could not bind 127.0.0.1:${this.port}: address already in use; log tail:\n${tail(this.log())}`);
        }
        const how = child.signalCode !== null ? `signal ${child.signalCode}` : `exit code ${String(child.exitCode)}`;
        throw new Error(`mosquitto exited during startup (${how}) on port ${this.port}; log tail:\n${tail(this.log())}`);
      }
      if (await canConnect(this.port)) {
        // A successful connect alone could reach a process that stole the port
        // between freePort() and spawn; "running" is logged only after
        // mosquitto has bound its own listeners.
        if (/mosquitto version \S+ running/.test(fresh)) return;
        connectedSince ??= Date.now();
        // Fallback for builds that word the log differently: still alive well
        // after the port answered means the bind succeeded.
        if (Date.now() - connectedSince > 750) return;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.exited;
        this.child = null;
        throw new Error(`mosquitto did not accept connections on port ${this.port} within ${this.startTimeoutMs} ms; log tail:\n${tail(this.log())}`);
      }
      await sleep(25);
    }
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (child === null) return;
    if (this.running) {
      child.kill(sig);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = null;
  }

  stop(): Promise<void> {
    return this.signal('SIGTERM', 5_000);
  }

  kill(): Promise<void> {
    return this.signal('SIGKILL', 5_000);
  }

  async restart(): Promise<void> {
    await this.stop();
    // The port is ours by convention only; mosquitto sets SO_REUSEADDR, so
    // TIME_WAIT is no obstacle, but retry a few times in case of a short race.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        if (!(err instanceof AddressInUse) || attempt >= 5) throw err;
        await sleep(100 * attempt);
      }
    }
  }

  async cleanup(): Promise<void> {
    await this.stop();
    if (this.cleaned) return;
    this.cleaned = true;
    tracked.delete(this);
    await rm(this.dir, { recursive: true, force: true });
  }

  /** For the process 'exit' hook only. */
  killSync(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Starts mosquitto on a free 127.0.0.1 port with its own temp dir.
 * Call requireMosquitto() first; this throws if the binary is missing.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const bin = mosquittoPath();
  if (bin === null) throw new Error('mosquitto is not installed; gate the suite with requireMosquitto()');
  const dir = await mkdtemp(join(tmpdir(), 'lanwatch-mosquitto-'));
  const broker = new MosquittoBroker(dir, bin, options.persistence ?? false, options.startTimeoutMs ?? 10_000, options.extraConfig ?? []);
  for (let attempt = 1; ; attempt++) {
    broker.port = await freePort();
    try {
      await broker.start();
      return broker;
    } catch (err) {
      // Another process took the port between probe and bind: pick a new one.
      if (err instanceof AddressInUse && attempt < 5) continue;
      await broker.cleanup();
      throw err;
    }
  }
}

/** afterAll safety net: stops every broker still running and removes its temp dir. */
export async function stopAllBrokers(): Promise<void> {
  await Promise.all([...tracked].map(async (b) => {
    await b.kill();
    await b.cleanup();
  }));
}
