/**
 * The loop probe: one small UDP datagram out of each LAN bridge per send(), so that a loop
 * always has something of the bridge's own to bring back. The nftables port counters count
 * every frame that comes back in on a bridge port with the bridge's MAC as source
 * (PORT_OWN_SOURCE, nftPortRuleset.ts); the bridge's own broadcast is the frame a loop returns
 * first, and a quiet bridge may otherwise send nothing for seconds.
 *
 * The agent owns the timer (every second by default) and may also call send() out of schedule,
 * e.g. on an FDB move that hints at a loop. Every send() is rate-limited per bridge
 * (minIntervalMs, 100 ms): a burst of hints costs at most ten probes a second per bridge.
 *
 * Decisions (details in probeAddress.ts, probeSocket.ts, probePayload.ts):
 * - Destination: the bridge's IPv4 subnet-directed broadcast from its own address, else IPv6
 *   all-nodes ff02::1%bridge from its link-local address, else none ("no address: probe off",
 *   logged once; loop detection then sees only the bridge's own traffic coming back). Never
 *   255.255.255.255, which follows the routing table and may leave by the WAN.
 * - UDP port 9 (discard); payload `lanwatch loop probe v1 <nonce> <seq>`, 50 bytes, one
 *   reused Buffer per bridge with the seq rewritten in place.
 * - Addresses change (DHCP on br0): os.networkInterfaces() is re-read at most every
 *   addressCheckMs (10 s), on refresh() (the agent calls it on link/address events), and, once a
 *   send failed, at the first send at least a second after the last read (out-of-schedule
 *   sends must not re-read every time). A socket is rebuilt only when its target changed.
 * - send() never rejects. A failure (ENETUNREACH, which is what a connected socket gets on
 *   Linux 6.18 once its address is gone; EADDRNOTAVAIL at bind for an address not yet or no
 *   longer there; EPERM from a firewall; ENOBUFS) is counted per bridge; its first occurrence
 *   per bridge and error code is logged at warn, repeats at debug. A socket that failed to open
 *   is opened again at the next send.
 * - Cost per send (scripts/bench/probeSendBench.ts: real sockets on loopback, Node 20.20, Linux
 *   6.18, median of GC-free windows over 20,000 sends): about 2.6 KB of JS heap and 7.5 µs.
 *   Of that, node:dgram's own send request takes ~1.0 KB (measured alone with a callback),
 *   dgram-as-promised's Promise and closures ~0.2 KB, and our two async frames the rest; the
 *   payload Buffer is reused. Once a second that is noise, so the send stays a plain async
 *   function instead of a callback state machine like the sampler's tick.
 */
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { LoopProbe, LoopProbeBridge, ProbeBridgeStatus } from '../index.ts';
import { PROBE_OFF_DETAIL, probeTargetFor, sameTarget, type InterfaceTable, type ProbeTarget, type ProbeVia } from './probeAddress.ts';
import { PROBE_PORT, ProbePayload, processProbeNonce } from './probePayload.ts';
import { openDgramProbeSocket, type ProbeSocket, type ProbeSocketFactory } from './probeSocket.ts';

export { PROBE_OFF_DETAIL };

export type { LoopProbe, LoopProbeBridge, ProbeBridgeStatus };

export interface ProbeLogger {
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export interface BroadcastProbeOptions {
  log?: ProbeLogger;
  /** Minimum time between two probes of one bridge; default 100 ms. */
  minIntervalMs?: number;
  /** How old the address snapshot may get before a send re-reads it; default 10 s. */
  addressCheckMs?: number;
  /** Injected by tests; default os.networkInterfaces. */
  networkInterfaces?: () => InterfaceTable;
  /** Injected by tests; default dgram-as-promised (probeSocket.ts). */
  openSocket?: ProbeSocketFactory;
  /** Destination port; default 9 (discard). */
  port?: number;
  /** 8 bytes; default one random nonce per process. */
  nonce?: Buffer;
  /** Monotonic ms, for intervals; default performance.now. */
  now?: () => number;
  /** Wall-clock ms, for lastSentAt; default Date.now. */
  wallClock?: () => number;
}

/** After a failed send, the addresses are re-read at the next send at least this much later. */
const REREAD_AFTER_FAILURE_MS = 1_000;
const NOOP_LOGGER: ProbeLogger = { warn: () => {}, info: () => {}, debug: () => {} };

/** One bridge's state: its target, socket, payload buffer and counters. */
class BridgeProbe {
  target: ProbeTarget | null = null;
  /** The socket being opened or open for `target`; null until the next send opens it. */
  socket: Promise<ProbeSocket> | null = null;
  readonly payload: ProbePayload;
  seq = 0;
  sent = 0;
  failed = 0;
  skipped = 0;
  lastError: string | null = null;
  lastSentAt: number | null = null;
  lastAttemptAt = -Infinity;
  inFlight = false;
  /** Error codes already logged at warn for this bridge. */
  readonly warnedCodes = new Set<string>();
  offLogged = false;

  constructor(readonly name: string, nonce: Buffer) {
    this.payload = new ProbePayload(nonce);
  }
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' ? code : error.name;
  }
  return 'Error';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class BroadcastProbe implements LoopProbe {
  readonly nonceHex: string;
  private readonly log: ProbeLogger;
  private readonly minIntervalMs: number;
  private readonly addressCheckMs: number;
  private readonly readInterfaces: () => InterfaceTable;
  private readonly openSocket: ProbeSocketFactory;
  private readonly port: number;
  private readonly nonce: Buffer;
  private readonly now: () => number;
  private readonly wallClock: () => number;
  private bridges: BridgeProbe[] = [];
  private readAt = -Infinity;
  /** A send failed since the last read: re-read soon (an address may have gone). */
  private stale = false;
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(bridges: readonly LoopProbeBridge[], options: BroadcastProbeOptions = {}) {
    this.log = options.log ?? NOOP_LOGGER;
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.addressCheckMs = options.addressCheckMs ?? 10_000;
    this.readInterfaces = options.networkInterfaces ?? osNetworkInterfaces;
    this.openSocket = options.openSocket ?? openDgramProbeSocket;
    this.port = options.port ?? PROBE_PORT;
    this.nonce = options.nonce ?? processProbeNonce();
    this.nonceHex = this.nonce.toString('hex');
    this.now = options.now ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.setBridges(bridges);
  }

  async send(bridge?: string): Promise<number> {
    if (this.closed) return 0;
    this.rereadIfDue();
    let accepted = 0;
    // One after the other: a send is one syscall once the socket is open, and a loop over
    // the array allocates no list of promises.
    for (const probe of this.bridges) {
      if (bridge !== undefined && probe.name !== bridge) continue;
      if (await this.sendOne(probe)) accepted++;
    }
    return accepted;
  }

  refresh(): void {
    if (!this.closed) this.reread();
  }

  setBridges(bridges: readonly LoopProbeBridge[]): void {
    if (this.closed) return;
    const wanted = [...new Set(bridges.map((bridge) => bridge.name))];
    const kept = new Map(this.bridges.map((probe) => [probe.name, probe]));
    this.bridges = wanted.map((name) => kept.get(name) ?? new BridgeProbe(name, this.nonce));
    for (const [name, probe] of kept) if (!wanted.includes(name)) this.retire(probe);
    this.reread();
  }

  status(): ProbeBridgeStatus[] {
    return this.bridges.map((probe) => ({
      bridge: probe.name,
      via: probe.target?.via ?? null,
      destination: probe.target?.label ?? null,
      sent: probe.sent,
      failed: probe.failed,
      skipped: probe.skipped,
      lastError: probe.lastError,
      lastSentAt: probe.lastSentAt,
      detail: probe.target === null ? PROBE_OFF_DETAIL : null,
    }));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const probe of this.bridges) this.retire(probe);
      await Promise.all(this.retiring);
    })();
    return this.closing;
  }

  /** True when the kernel accepted the probe. */
  private async sendOne(probe: BridgeProbe): Promise<boolean> {
    if (probe.target === null) return false;
    const now = this.now();
    if (probe.inFlight || now - probe.lastAttemptAt < this.minIntervalMs) {
      probe.skipped++;
      return false;
    }
    probe.lastAttemptAt = now;
    probe.inFlight = true;
    const target = probe.target;
    try {
      probe.socket ??= this.openFor(probe, target);
      const opening = probe.socket;
      const socket = await opening;
      // refresh() or close() retired this socket while it opened: not a failure, just late.
      if (probe.socket !== opening) {
        probe.skipped++;
        return false;
      }
      probe.seq = (probe.seq + 1) >>> 0;
      probe.payload.setSeq(probe.seq);
      await socket.send(probe.payload.buffer);
      probe.sent++;
      probe.lastSentAt = this.wallClock();
      return true;
    } catch (error) {
      if (!this.closed) this.onFailure(probe, target, error);
      return false;
    } finally {
      probe.inFlight = false;
    }
  }

  /** Opens the socket; a failed open forgets the socket so the next send tries again. */
  private openFor(probe: BridgeProbe, target: ProbeTarget): Promise<ProbeSocket> {
    const opening = this.openSocket(target);
    opening.catch(() => {
      if (probe.socket === opening) probe.socket = null;
    });
    return opening;
  }

  private onFailure(probe: BridgeProbe, target: ProbeTarget, error: unknown): void {
    probe.failed++;
    const code = errorCode(error);
    const message = errorMessage(error);
    probe.lastError = message;
    this.stale = true;
    const line = `loop probe on ${probe.name} (${target.via} to ${target.label}) failed: ${message}`;
    if (probe.warnedCodes.has(code)) {
      this.log.debug(line);
    } else {
      probe.warnedCodes.add(code);
      this.log.warn(`${line}; further ${code} failures on ${probe.name} are logged at debug level`);
    }
  }

  private rereadIfDue(): void {
    const age = this.now() - this.readAt;
    if (age >= this.addressCheckMs || (this.stale && age >= REREAD_AFTER_FAILURE_MS)) this.reread();
  }

  private reread(): void {
    this.readAt = this.now();
    let table: InterfaceTable;
    try {
      table = this.readInterfaces();
    } catch (error) {
      // Keep the targets we have; try again at the next check.
      this.log.warn(`loop probe: cannot list interface addresses: ${errorMessage(error)}`);
      return;
    }
    this.stale = false;
    for (const probe of this.bridges) this.retarget(probe, probeTargetFor(probe.name, table, this.port));
  }

  private retarget(probe: BridgeProbe, target: ProbeTarget | null): void {
    const changed = !sameTarget(probe.target, target);
    if (changed) {
      this.retire(probe);
      probe.target = target;
    }
    if (target !== null) {
      if (changed) this.log.info(`loop probe on ${probe.name}: ${target.via} to ${target.label} from ${target.bindAddress}`);
    } else if (!probe.offLogged) {
      probe.offLogged = true;
      this.log.warn(`loop probe on ${probe.name}: ${PROBE_OFF_DETAIL} (no IPv4 address with a broadcast address, no IPv6 ` +
        "link-local address); loop detection there relies on the bridge's own traffic");
    } else if (changed) {
      this.log.debug(`loop probe on ${probe.name}: ${PROBE_OFF_DETAIL}`);
    }
  }

  /** Closes the bridge's socket in the background; close() waits for it. */
  private retire(probe: BridgeProbe): void {
    const socket = probe.socket;
    if (socket === null) return;
    probe.socket = null;
    const closing = socket.then((open) => open.close(), () => {}).catch(() => {});
    this.retiring.add(closing);
    void closing.finally(() => this.retiring.delete(closing));
  }
}
