/**
 * Per-bridge-port broadcast/multicast/protocol counters from named nftables counters in our
 * own table (`table bridge lanwatch`, see nftPortRuleset.ts).
 *
 * apply() installs the table with one `nft -f -` run and builds the lookup counter → (port,
 * field); every read() is then ONE NFT_MSG_GETOBJ dump on a NETLINK_NETFILTER socket
 * (nftObjDump.ts), never an nft process. The read path allocates nothing of ours: the request
 * is built once, names are matched as bytes, rows are found with the port-name strings kept
 * from apply(), and per-port state lives in typed arrays sized at apply().
 *
 * Per read, each planned port's row is first set to NaN, then filled from the dump; a port is
 * marked read only when all of its counters arrived. A dump without our counters means the
 * table was removed behind our back (`nft flush ruleset` by a firewall reload): the read fails
 * with code 'ENOENT' and apply() must run again. Reads while apply() runs complete with
 * nothing marked (the sampler records a gap), since the kernel may already hold the new table
 * while the lookup is still the old one.
 *
 * Needs CAP_NET_ADMIN (nft and nfnetlink both check it) in the bridge's network namespace.
 * Software counting sees what reaches the CPU: on a DSA switch chip, frames the chip floods
 * between its own ports never pass here (notes/loop-storm.md §2.4); that needs ethtool MIBs.
 */
import type { PortCounterPlan, PortCounterSink, PortCounterSource, ReadDone, SourceStatus } from '../index.ts';
import { PORT_FIELDS } from '../index.ts';
import { NETLINK_NETFILTER, NFT_NEWOBJ, NLMSG_DONE, NLMSG_ERROR } from '../netlink/constants.ts';
import { loadNetlinkBinding, openRawNetlink } from '../netlink/rawSocket.ts';
import { MessageCursor, nlmsgErrno } from '../netlink/reader.ts';
import { SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoError, KernelSourceError, malformedError, supersededError } from './errors.ts';
import { allocCounterDumpRequest, CounterNameIndex, CounterObjectReader } from './nftObjDump.ts';
import { buildPortRuleset, NFT_PORT_FAMILY, NFT_PORT_TABLE } from './nftPortRuleset.ts';
import { NftPortTable, type NftRunOptions, type PortTableInstaller } from './nftPortTable.ts';

export interface NftPortCountersOptions {
  /** Table name; default 'lanwatch'. */
  table?: string;
  /** Installs/removes the table; default `nft -f -` (NftPortTable). Injected by unit tests. */
  installer?: PortTableInstaller;
}

const DETAIL = `table ${NFT_PORT_FAMILY} ${NFT_PORT_TABLE}, one NFT_MSG_GETOBJ dump per tick`;

export class NftPortCounters implements PortCounterSource {
  readonly status: SourceStatus;
  private readonly table: string;
  private readonly installer: PortTableInstaller;
  private readonly transport: NetlinkTransport;
  private readonly request: Buffer;
  private readonly seqs = new SequenceCounter();
  private readonly messages = new MessageCursor();
  private readonly object = new CounterObjectReader();
  private readonly names = new CounterNameIndex();

  // The lookup of the applied plan: counter k → port and field; port i → name.
  private portNames: readonly string[] = [];
  private counterPort = new Int32Array(0);
  private counterField = new Int32Array(0);
  /** Counters each port has in the table (8, or 7 without the bridge MAC). */
  private countersPerPort = new Int32Array(0);
  // Per read, sized at apply(): the sink row of each port and how many counters arrived.
  private portSlots = new Int32Array(0);
  private portSeen = new Int32Array(0);
  private seen = 0;

  private applied = false;
  private installed = false;
  private applying = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();

  private pendingSeq = 0;
  private sink: PortCounterSink | null = null;
  private done: ReadDone | null = null;
  private failure: Error | null = null;

  constructor(openTransport: NetlinkTransportFactory, options: NftPortCountersOptions = {}) {
    this.table = options.table ?? NFT_PORT_TABLE;
    this.installer = options.installer ?? new NftPortTable();
    this.status = { backend: 'nftables', detail: this.table === NFT_PORT_TABLE ? DETAIL : `table ${NFT_PORT_FAMILY} ${this.table}` };
    this.request = allocCounterDumpRequest(this.table);
    this.transport = openTransport(NETLINK_NETFILTER, {
      onDatagram: (datagram) => this.onDatagram(datagram),
      onError: (error) => this.finish(error),
    });
  }

  /** Ports of the applied plan, in counter order (tests, status). */
  get ports(): readonly string[] {
    return this.portNames;
  }

  sourceOf(port: string): string | null {
    return this.applied && this.portNames.includes(port) ? 'nftables' : null;
  }

  apply(plan: PortCounterPlan): Promise<void> {
    // From now until the new lookup is in place, a dump may list either table: a read in
    // flight is given up and new reads write nothing.
    if (this.done) this.finish(supersededError('nftables GETOBJ (plan changed)'));
    this.applying++;
    // Serialised: two overlapping nft runs could commit in either order.
    const run = this.queue.then(() => this.install(plan)).finally(() => this.applying--);
    this.queue = run.catch(() => {});
    return run;
  }

  read(sink: PortCounterSink, done: ReadDone): void {
    if (this.done) this.finish(supersededError('nftables GETOBJ'));
    if (this.closed) {
      done(new KernelSourceError('nftables port counters: closed', 'ENOPLAN'));
      return;
    }
    if (this.applying > 0) {
      done(null);
      return;
    }
    if (!this.applied) {
      done(new KernelSourceError('nftables port counters: no plan applied yet', 'ENOPLAN'));
      return;
    }
    const ports = this.portNames;
    const values = sink.values;
    for (let port = 0; port < ports.length; port++) {
      const slot = sink.slotOfPort(ports[port]!);
      this.portSlots[port] = slot;
      this.portSeen[port] = 0;
      if (slot >= 0) values.fill(NaN, slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS);
    }
    this.seen = 0;
    this.names.rewind();
    this.sink = sink;
    this.done = done;
    this.failure = null;
    this.pendingSeq = this.seqs.next();
    setRequestSeq(this.request, this.pendingSeq);
    this.transport.send(this.request);
  }

  /** Stops reading and deletes the table (if this source installed one). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.finish(null);
      this.transport.close();
      await this.queue;
      this.applied = false;
      if (this.installed) {
        this.installed = false;
        await this.installer.remove(this.table);
      }
    })();
    return this.closing;
  }

  private async install(plan: PortCounterPlan): Promise<void> {
    if (this.closed) throw new Error('nftables port counters: apply() after close()');
    // Throws for an unusable plan before anything is touched.
    const ruleset = buildPortRuleset(plan, this.table);
    await this.installer.install(ruleset);
    // The kernel now holds the new table: switch the lookup to it.
    const n = ruleset.counters.length;
    this.names.set(ruleset.counters.map((counter) => counter.name));
    this.counterPort = Int32Array.from(ruleset.counters, (counter) => counter.port);
    this.counterField = Int32Array.from(ruleset.counters, (counter) => counter.field);
    this.portNames = ruleset.ports;
    this.countersPerPort = new Int32Array(ruleset.ports.length);
    for (let k = 0; k < n; k++) this.countersPerPort[this.counterPort[k]!]!++;
    this.portSlots = new Int32Array(ruleset.ports.length);
    this.portSeen = new Int32Array(ruleset.ports.length);
    this.installed = true;
    this.applied = true;
  }

  private onDatagram(datagram: Buffer): void {
    const msg = this.messages.reset(datagram);
    while (msg.next()) {
      if (msg.seq !== this.pendingSeq || !this.sink) continue;
      if (msg.type === NFT_NEWOBJ) this.parseObject(this.sink);
      else if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) {
        // DONE carries the dump's final status where an error message has its errno.
        const errno = nlmsgErrno(msg);
        if (errno > 0) this.failure ??= errnoError('nftables GETOBJ', errno);
        this.complete();
        return;
      }
    }
    if (msg.problem) this.finish(malformedError('nftables GETOBJ reply', msg.problem));
  }

  private parseObject(sink: PortCounterSink): void {
    const object = this.object;
    if (!object.read(this.messages)) {
      if (object.problem) this.failure ??= malformedError('nftables counter object', object.problem);
      return;
    }
    const k = this.names.find(this.messages.buf, object.nameOffset, object.nameLength);
    if (k < 0) return; // not ours (someone added a counter to our table): ignore it
    const port = this.counterPort[k]!;
    this.portSeen[port]!++;
    this.seen++;
    const slot = this.portSlots[port]!;
    if (slot >= 0) sink.values[slot * PORT_FIELDS + this.counterField[k]!] = object.packets;
  }

  /** End of the dump: mark complete rows, then report. */
  private complete(): void {
    const sink = this.sink;
    if (sink && this.failure === null) {
      for (let port = 0; port < this.portNames.length; port++) {
        const slot = this.portSlots[port]!;
        if (slot >= 0 && this.portSeen[port] === this.countersPerPort[port]) sink.markPortRead(slot);
      }
      if (this.seen < this.names.size) {
        this.failure = new KernelSourceError(
          `nftables table ${NFT_PORT_FAMILY} ${this.table}: ${this.names.size - this.seen} of ${this.names.size} counters missing ` +
            '(table deleted or flushed by another tool? apply the plan again)',
          'ENOENT',
        );
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

export interface OpenNftPortCountersOptions extends NftPortCountersOptions, NftRunOptions {
  /** Injected transport (tests); default the real netlink socket. */
  transport?: NetlinkTransportFactory;
}

/**
 * Start-up probe: can this machine count per port with nftables? Checks the netlink addon and
 * runs `nft -c` (validated by the kernel, nothing committed) on the ruleset of a sample plan,
 * which catches a missing nft, missing CAP_NET_ADMIN and missing kernel support at once.
 * Returns the source, or null and a status saying why not ('none').
 */
export async function openNftPortCounters(
  options: OpenNftPortCountersOptions = {},
): Promise<{ source: NftPortCounters | null; status: SourceStatus }> {
  let transport = options.transport ?? null;
  if (!transport) {
    const loaded = loadNetlinkBinding();
    if (!loaded.ok) return { source: null, status: { backend: 'none', detail: `port counters off: ${loaded.reason}` } };
    transport = openRawNetlink;
  }
  const installer = options.installer ?? new NftPortTable(options);
  if (installer instanceof NftPortTable) {
    const sample = buildPortRuleset({ bridge: 'probe', bridgeMac: '02:00:00:00:00:01', ports: ['probe0'] }, options.table);
    try {
      await installer.check(sample);
    } catch (error) {
      return { source: null, status: { backend: 'none', detail: `port counters off: ${(error as Error).message}` } };
    }
  }
  const source = new NftPortCounters(transport, { ...options, installer });
  return { source, status: source.status };
}
