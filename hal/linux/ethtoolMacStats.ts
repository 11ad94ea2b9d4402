/**
 * Per-port broadcast and multicast frame counts from the NIC's or switch chip's own MIB: the
 * IEEE 802.3 MAC counters aBroadcastFramesReceivedOK and aMulticastFramesReceivedOK, read with
 * ethtool netlink ETHTOOL_MSG_STATS_GET, group eth-mac (ethtoolStatsMessage.ts).
 *
 * Why hardware: a DSA switch chip floods broadcast between its own ports without the CPU, so
 * only the chip's MIB sees everything a port receives (notes/loop-storm.md §2.4). This source
 * fills PORT_BCAST and PORT_MCAST only (the other PORT_* fields are NaN); LayeredPortCounters
 * combines it with the nftables source, which also splits the traffic by protocol.
 *
 * apply() resolves the "ethtool" generic netlink family (once) and asks the kernel about each
 * planned port (ethtoolPortProbe.ts): a port is counted when its reply has both counters.
 * Every read() is then ONE dump of STATS_GET over all netdevs of the namespace (verified on
 * 6.18: the op has dumpit, GENL_CMD_CAP_DUMP in the controller's op list), matched to the
 * counted ports by name. The read path allocates nothing of ours: the request is built once,
 * names are matched as bytes (CounterNameIndex), rows are found with the port-name strings kept
 * from apply(), per-port state lives in typed arrays sized at apply().
 *
 * Matching by name, not ifindex: the plan is by name, and an interface deleted and created
 * again (a USB NIC re-plugged) keeps its name but not its ifindex. A counted port missing from
 * a dump (gone, renamed, moved) is left unmarked, which the sampler records as a gap; it is not
 * an error of the source. Reads while apply() runs complete with nothing marked.
 *
 * Needs no privileges: STATS_GET is not GENL_ADMIN_PERM (verified as uid 65534 on 6.18).
 * Drivers may refresh MIB counters on their own schedule (statistics.rst), so a fast tick can
 * see the same value twice; the deltas stay right.
 */
import type { PortCounterPlan, PortCounterSink, PortCounterSource, ReadDone, SourceStatus } from '../index.ts';
import { PORT_BCAST, PORT_FIELDS, PORT_MCAST } from '../index.ts';
import {
  ETHTOOL_GENL_NAME,
  ETHTOOL_MSG_STATS_GET,
  GENL_CMD_CAP_DUMP,
  NETLINK_GENERIC,
  NLMSG_DONE,
  NLMSG_ERROR,
} from '../netlink/constants.ts';
import { loadNetlinkBinding, openRawNetlink } from '../netlink/rawSocket.ts';
import { MessageCursor, nlmsgErrno } from '../netlink/reader.ts';
import { SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, KernelSourceError, malformedError, supersededError } from './errors.ts';
import { type GenlFamily, resolveGenlFamily } from './genetlinkFamily.ts';
import { type EthMacPortProbe, probeEthMacPorts } from './ethtoolPortProbe.ts';
import { allocEthMacDumpRequest, EthMacReplyReader } from './ethtoolStatsMessage.ts';
import { CounterNameIndex } from './nftObjDump.ts';

/** What sourceOf() says for a port this source counts. */
export const ETHTOOL_ETH_MAC_SOURCE = 'ethtool eth-mac';

const DETAIL = 'ethtool netlink STATS_GET eth-mac (hardware MIB), one dump per tick';

export interface EthtoolMacStatsOptions {
  /** The "ethtool" family when already resolved (openEthtoolMacStats does); else apply() resolves it. */
  family?: GenlFamily;
  /** How long apply() waits for the kernel's answers. Default 2000 ms. */
  timeoutMs?: number;
}

export class EthtoolMacStats implements PortCounterSource {
  readonly status: SourceStatus = { backend: 'ethtool', detail: DETAIL };
  private readonly openTransport: NetlinkTransportFactory;
  private readonly transport: NetlinkTransport;
  private readonly timeoutMs: number;
  private family: GenlFamily | null;
  private resolving: Promise<GenlFamily> | null = null;
  /** The dump request, built once the family id is known. */
  private request: Buffer | null = null;
  private readonly seqs = new SequenceCounter();
  private readonly messages = new MessageCursor();
  private readonly reply = new EthMacReplyReader();
  private readonly names = new CounterNameIndex();

  // The applied plan: the ports counted here, and why the others are not.
  private portNames: readonly string[] = [];
  private reasons: ReadonlyMap<string, string> = new Map();
  // Per read, sized at apply(): each counted port's sink row and whether its counters arrived.
  private portSlots = new Int32Array(0);
  private portSeen = new Uint8Array(0);

  private applied = false;
  private applying = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();

  private pendingSeq = 0;
  private familyId = -1;
  private sink: PortCounterSink | null = null;
  private done: ReadDone | null = null;
  private failure: Error | null = null;

  constructor(openTransport: NetlinkTransportFactory, options: EthtoolMacStatsOptions = {}) {
    this.openTransport = openTransport;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.family = options.family ?? null;
    this.transport = openTransport(NETLINK_GENERIC, {
      onDatagram: (datagram) => this.onDatagram(datagram),
      onError: (error) => this.finish(error),
    });
  }

  /** Ports of the applied plan counted in hardware, in plan order. */
  get ports(): readonly string[] {
    return this.portNames;
  }

  /** Planned ports not counted here, with the reason (for logs and status). */
  get unsupported(): ReadonlyMap<string, string> {
    return this.reasons;
  }

  sourceOf(port: string): string | null {
    return this.applied && this.portNames.includes(port) ? ETHTOOL_ETH_MAC_SOURCE : null;
  }

  /** The "ethtool" family, resolved on first use. Rejects when the kernel has none. */
  resolveFamily(): Promise<GenlFamily> {
    if (this.family) return Promise.resolve(this.family);
    this.resolving ??= resolveGenlFamily(this.openTransport, ETHTOOL_GENL_NAME, { timeoutMs: this.timeoutMs }).then(
      (family) => (this.family = family),
      (error: unknown) => {
        this.resolving = null; // a later apply() may try again
        throw error;
      },
    );
    return this.resolving;
  }

  /** The ports among `ports` whose driver reports both receive counters. */
  async probe(ports: readonly string[]): Promise<string[]> {
    return (await this.probePorts(ports)).filter((result) => result.supported).map((result) => result.port);
  }

  /** One result per port, with the reason for each unsupported one. */
  async probePorts(ports: readonly string[]): Promise<EthMacPortProbe[]> {
    const family = await this.resolveFamily();
    const flags = family.commands.get(ETHTOOL_MSG_STATS_GET);
    // STATS_GET came with its dumpit (Linux 5.13); the checks guard against a family that
    // does not list it at all rather than against a kernel without the dump.
    const missing = flags === undefined
      ? 'kernel has no ETHTOOL_MSG_STATS_GET (Linux 5.13 or later needed)'
      : (flags & GENL_CMD_CAP_DUMP) === 0 ? 'kernel cannot dump ETHTOOL_MSG_STATS_GET' : null;
    if (missing) return ports.map((port) => ({ port, supported: false, reason: missing }));
    return probeEthMacPorts(this.openTransport, family.id, ports, this.timeoutMs);
  }

  apply(plan: PortCounterPlan): Promise<void> {
    // The lookup is about to change under a read in flight: give that read up.
    if (this.done) this.finish(supersededError('ethtool STATS_GET (plan changed)'));
    this.applying++;
    const run = this.queue.then(() => this.install(plan)).finally(() => this.applying--);
    this.queue = run.catch(() => {});
    return run;
  }

  read(sink: PortCounterSink, done: ReadDone): void {
    if (this.done) this.finish(supersededError('ethtool STATS_GET'));
    if (this.closed) {
      done(new KernelSourceError('ethtool eth-mac counters: closed', 'ENOPLAN'));
      return;
    }
    if (this.applying > 0) {
      done(null);
      return;
    }
    if (!this.applied || !this.request) {
      done(new KernelSourceError('ethtool eth-mac counters: no plan applied yet', 'ENOPLAN'));
      return;
    }
    const ports = this.portNames;
    if (ports.length === 0) {
      done(null); // nothing counted here: no round trip
      return;
    }
    const values = sink.values;
    for (let port = 0; port < ports.length; port++) {
      const slot = sink.slotOfPort(ports[port]!);
      this.portSlots[port] = slot;
      this.portSeen[port] = 0;
      if (slot >= 0) values.fill(NaN, slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS);
    }
    this.names.rewind();
    this.sink = sink;
    this.done = done;
    this.failure = null;
    this.pendingSeq = this.seqs.next();
    setRequestSeq(this.request, this.pendingSeq);
    this.transport.send(this.request);
  }

  /** Stops reading and closes the socket. Idempotent; nothing to remove in the kernel. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.finish(null);
      this.transport.close();
      await this.queue;
      this.applied = false;
    })();
    return this.closing;
  }

  private async install(plan: PortCounterPlan): Promise<void> {
    if (this.closed) throw new Error('ethtool eth-mac counters: apply() after close()');
    const ports = [...new Set(plan.ports)];
    const results = await this.probePorts(ports);
    const family = this.family!;
    this.request ??= allocEthMacDumpRequest(family.id);
    this.familyId = family.id;
    const counted = results.filter((result) => result.supported).map((result) => result.port);
    this.reasons = new Map(results.flatMap((result) => (result.reason === null ? [] : [[result.port, result.reason] as const])));
    this.names.set(counted);
    this.portNames = counted;
    this.portSlots = new Int32Array(counted.length);
    this.portSeen = new Uint8Array(counted.length);
    this.status.detail = describe(counted, this.reasons);
    this.applied = true;
  }

  private onDatagram(datagram: Buffer): void {
    const msg = this.messages.reset(datagram);
    while (msg.next()) {
      if (msg.seq !== this.pendingSeq || !this.sink) continue;
      if (msg.type === this.familyId) this.parseReply(this.sink);
      else if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
        // DONE carries the dump's final status where an error message has its errno.
        const errno = nlmsgErrno(msg);
        if (errno > 0) this.failure ??= errnoError('ethtool STATS_GET dump', errno);
        this.complete();
        return;
      }
    }
    if (msg.problem) this.finish(malformedError('ethtool STATS_GET reply', msg.problem));
  }

  private parseReply(sink: PortCounterSink): void {
    const reply = this.reply;
    if (!reply.read(this.messages)) {
      if (reply.problem) this.failure ??= malformedError('ethtool STATS_GET reply', reply.problem);
      return;
    }
    const port = this.names.find(this.messages.buf, reply.nameOffset, reply.nameLength);
    // Not a counted port (every netdev of the namespace answers), or its counters are gone.
    if (port < 0 || !reply.hasCounters) return;
    this.portSeen[port] = 1;
    const slot = this.portSlots[port]!;
    if (slot < 0) return;
    sink.values[slot * PORT_FIELDS + PORT_BCAST] = reply.rxBroadcast;
    sink.values[slot * PORT_FIELDS + PORT_MCAST] = reply.rxMulticast;
  }

  /** End of the dump: mark the rows that got their counters, then report. */
  private complete(): void {
    const sink = this.sink;
    if (sink && this.failure === null) {
      for (let port = 0; port < this.portNames.length; port++) {
        const slot = this.portSlots[port]!;
        if (slot >= 0 && this.portSeen[port] === 1) sink.markPortRead(slot);
      }
    }
    this.finish(this.failure);
  }

  private finish(error: Error | null): void {
    const done = this.done;
    this.done = null;
    this.sink = null;
    this.pendingSeq = 0;
    this.failure = null;
    if (done) done(error);
  }
}

/** Status detail after apply(): which ports are counted in hardware, and why others are not. */
function describe(counted: readonly string[], reasons: ReadonlyMap<string, string>): string {
  const on = counted.length > 0 ? `eth-mac on ${counted.join(', ')}` : 'eth-mac on no port';
  const off = [...reasons].map(([port, reason]) => `${port}: ${reason}`);
  return off.length > 0 ? `${on}; not on ${off.join('; ')}` : `${on}; one STATS_GET dump per tick`;
}

export interface OpenEthtoolMacStatsOptions extends EthtoolMacStatsOptions {
  /** Injected transport (tests); default the real netlink socket. */
  transport?: NetlinkTransportFactory;
}

/**
 * Start-up probe: does this kernel have ethtool netlink with a STATS_GET dump? Resolves the
 * family; which ports have counters is apply()'s question. Returns the source, or null and a
 * status saying why not ('none').
 */
export async function openEthtoolMacStats(
  options: OpenEthtoolMacStatsOptions = {},
): Promise<{ source: EthtoolMacStats | null; status: SourceStatus }> {
  let transport = options.transport ?? null;
  if (!transport) {
    const loaded = loadNetlinkBinding();
    if (!loaded.ok) return { source: null, status: { backend: 'none', detail: `ethtool eth-mac off: ${loaded.reason}` } };
    transport = openRawNetlink;
  }
  let family: GenlFamily;
  try {
    family = options.family ?? (await resolveGenlFamily(transport, ETHTOOL_GENL_NAME, { timeoutMs: options.timeoutMs }));
  } catch (error) {
    return { source: null, status: { backend: 'none', detail: `ethtool eth-mac off: ${(error as Error).message}` } };
  }
  const flags = family.commands.get(ETHTOOL_MSG_STATS_GET);
  if (flags === undefined || (flags & GENL_CMD_CAP_DUMP) === 0) {
    return { source: null, status: { backend: 'none', detail: 'ethtool eth-mac off: kernel has no ETHTOOL_MSG_STATS_GET dump (Linux 5.13 or later needed)' } };
  }
  const source = new EthtoolMacStats(transport, { ...options, family });
  return { source, status: source.status };
}
