/**
 * NAT table intelligence for the agent (issue 5): feeds NatPressure every tick from the
 * sampler's conntrack history and the per-host table, keeps the host table filled (a first
 * dump, then the HAL source follows events and resyncs by itself), names the hosts every 30 s,
 * and answers the sinks: the ranking, the upstream budget and the forecasts.
 *
 * Upstream usage ("how full the ISP router's table must be"):
 * - router (our own masquerade): the entries through our SNAT (HOST_SNAT), one per flow that
 *   the upstream device also tracks;
 * - bridge (no NAT of ours): every forwarded flow, i.e. all entries except the box's own.
 */
import { networkInterfaces } from 'node:os';
import type { ConntrackHostTable, Hal, HostIdentity } from '../../hal/index.ts';
import {
  HOST_ENTRIES,
  HOST_FIELDS,
  HOST_ICMP,
  HOST_OTHER_PROTO,
  HOST_SNAT,
  HOST_TCP_CLOSING,
  HOST_TCP_ESTABLISHED,
  HOST_TCP_OTHER,
  HOST_UDP,
  HOST_UNREPLIED,
} from '../../hal/index.ts';
import type { RankedHost, UpstreamUsage } from '../alarms/natPressureAlarms.ts';
import {
  IN_COUNT,
  IN_MAX,
  IN_MONO_MS,
  IN_REFUSED_PER_S,
  IN_SECONDS,
  IN_UPSTREAM_BUDGET,
  IN_UPSTREAM_USED,
  NatPressure,
} from '../detect/natPressure.ts';
import { CT_COUNT, CT_DROP_PS, CT_EARLY_DROP_PS, CT_INSERT_FAILED_PS, CT_MAX } from '../sampler/conntrackHistory.ts';
import type { Sampler } from '../sampler/sampler.ts';
import type { ConntrackHostStatus, ConntrackUpstreamStatus } from '../status/types.ts';
import { OwnAddresses } from './ownAddresses.ts';

export interface NatWatchLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface NatWatchOptions {
  hal: Hal;
  sampler: Sampler;
  log: NatWatchLogger;
  /** nat.upstreamBudget; null = no upstream alarm or sensor. */
  upstreamBudget: number | null;
  /** 'bridge' when the box forwards without NAT of its own (board role), else 'router'. */
  basis: 'router' | 'bridge';
}

const NAMES_REFRESH_MS = 30_000;
/** Hosts in `agent status` / `agent top`; MQTT publishes the top 5. */
const RANKED_HOSTS = 50;

function known(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : null;
}

export class NatWatch implements UpstreamUsage {
  readonly pressure: NatPressure;
  readonly budget: number;
  readonly basis: 'router' | 'bridge';
  private readonly hal: Hal;
  private readonly sampler: Sampler;
  private readonly log: NatWatchLogger;
  private readonly table: ConntrackHostTable | null;
  private identities = new Map<string, HostIdentity>();
  /** The box's own addresses: their entries are not a LAN host's and not forwarded. */
  private readonly own = new OwnAddresses();
  /** [0] upstream used now (NaN unknown), [1] last tick time. */
  private readonly numbers = new Float64Array(2).fill(NaN);
  private readonly rows = new Int32Array(RANKED_HOSTS + 16);
  /** revision(): the two rows leading the upstream ranking (the box's own may be one of them). */
  private readonly leaders = new Int32Array(2);
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: NatWatchOptions) {
    this.hal = options.hal;
    this.sampler = options.sampler;
    this.log = options.log;
    this.table = options.hal.hostTable ?? null;
    this.budget = options.upstreamBudget ?? NaN;
    this.basis = options.basis;
    // The growth window holds every tick of a minute at the configured rate.
    this.pressure = new NatPressure({ maxSamples: Math.ceil(60_000 / options.sampler.intervalMs) + 2 });
  }

  /** Starts the first full dump and the naming timer. Never rejects. */
  start(): void {
    const source = this.hal.conntrackHosts;
    const table = this.table;
    if (source && table) {
      source.dump(table, (error) => {
        if (error) this.log.warn(`conntrack hosts: the first dump failed (${error.message}); retried by the source`);
      });
    }
    void this.refreshNames();
    this.timer = setInterval(() => void this.refreshNames(), NAMES_REFRESH_MS);
    this.timer.unref();
  }

  /** Every tick, after the sample: allocation-free (typed-array reads and writes only). */
  readonly onSample = (): void => {
    const sampler = this.sampler;
    const at = sampler.clock.indexAt(0);
    const h = sampler.conntrack.history;
    const cap = h.capacity;
    const data = h.data;
    const input = this.pressure.input;
    const now = sampler.sampledAt;
    const last = this.numbers[1]!;
    input[IN_MONO_MS] = now;
    input[IN_SECONDS] = last === last ? (now - last) / 1000 : 0;
    this.numbers[1] = now;
    input[IN_COUNT] = at < 0 ? NaN : data[CT_COUNT * cap + at]!;
    input[IN_MAX] = at < 0 ? NaN : data[CT_MAX * cap + at]!;
    input[IN_REFUSED_PER_S] =
      at < 0 ? NaN : data[CT_DROP_PS * cap + at]! + data[CT_EARLY_DROP_PS * cap + at]! + data[CT_INSERT_FAILED_PS * cap + at]!;
    const table = this.table;
    let used = NaN;
    if (table !== null && table.dumps > 0 && this.budget === this.budget) {
      // The box's own entries counted now, not at the last names refresh: on a bridge they are
      // all there is while nothing is forwarded (its MQTT connection, an ssh session).
      used = this.basis === 'router' ? table.totals[HOST_SNAT]! : table.totals[HOST_ENTRIES]! - this.own.entries(table);
    }
    this.numbers[0] = used;
    input[IN_UPSTREAM_USED] = used;
    input[IN_UPSTREAM_BUDGET] = this.budget;
    this.pressure.tick();
  };

  /** UpstreamUsage: per tick, a typed-array read. */
  used(): number {
    return this.numbers[0]!;
  }

  /** UpstreamUsage: the hosts holding most of the upstream usage. */
  topHosts(n: number): RankedHost[] {
    return this.ranked(this.basis === 'router' ? HOST_SNAT : HOST_ENTRIES, n).map((h) => ({ ip: h.ip, mac: h.mac, name: h.name, entries: h.entries }));
  }

  /**
   * UpstreamUsage: the rows of the two hosts holding most, as one number; it moves when another
   * host takes the lead or the second place. Not the counts: those move all the time, and the
   * alarm is not re-sent for every entry. Allocation-free (topRows into a kept array).
   */
  revision(): number {
    const table = this.table;
    if (table === null || table.dumps === 0) return 0;
    const leaders = this.leaders;
    const n = table.topRows(this.basis === 'router' ? HOST_SNAT : HOST_ENTRIES, leaders);
    // Rows are below 2^24 (the table's capacity limit): two of them fit a double exactly.
    return (n > 0 ? leaders[0]! + 1 : 0) * 0x1000001 + (n > 1 ? leaders[1]! + 1 : 0);
  }

  /** LAN hosts by entries held, most first (status, `agent top`). */
  hosts(n = RANKED_HOSTS): ConntrackHostStatus[] {
    return this.ranked(HOST_ENTRIES, n);
  }

  upstream(): ConntrackUpstreamStatus | null {
    if (!(this.budget > 0)) return null;
    const used = this.numbers[0]!;
    const ttf = this.pressure.secondsToUpstreamFull;
    return {
      budget: this.budget,
      used: used >= 0 ? used : null,
      pct: used >= 0 ? Math.round((used / this.budget) * 1000) / 10 : null,
      basis: this.basis,
      secondsToFull: Number.isFinite(ttf) ? Math.round(ttf) : null,
    };
  }

  /** The NAT fields of the status snapshot's `conntrack`. */
  statusFields(): {
    newPerS: number | null;
    growthPerS: number | null;
    secondsToFull: number | null;
    refused10s: number | null;
    hosts: ConntrackHostStatus[];
    upstream: ConntrackUpstreamStatus | null;
  } {
    const ttf = this.pressure.secondsToFull;
    const source = this.hal.conntrackHosts;
    return {
      newPerS: source ? source.counts.newPerSecond : null,
      growthPerS: known(this.pressure.growthPerS),
      secondsToFull: Number.isFinite(ttf) ? Math.round(ttf) : null,
      refused10s: this.pressure.refusedInWindow,
      hosts: this.hosts(),
      upstream: this.upstream(),
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  private ranked(field: number, n: number): ConntrackHostStatus[] {
    const table = this.table;
    if (table === null || table.dumps === 0) return [];
    // More rows than asked: the box's own addresses are skipped below.
    const own = this.own.text;
    const want = Math.min(n + own.size, this.rows.length);
    const found = table.topRows(field, this.rows.subarray(0, want));
    const out: ConntrackHostStatus[] = [];
    for (let i = 0; i < found && out.length < n; i++) {
      const row = this.rows[i]!;
      const ip = table.addressOf(row);
      if (own.has(ip)) continue;
      const c = table.counts;
      const base = row * HOST_FIELDS;
      if (c[base + field]! <= 0) break;
      const who = this.identities.get(ip);
      out.push({
        ip,
        mac: who?.mac ?? null,
        name: who?.name ?? null,
        entries: c[base + HOST_ENTRIES]!,
        tcpEstablished: c[base + HOST_TCP_ESTABLISHED]!,
        tcpClosing: c[base + HOST_TCP_CLOSING]!,
        tcpOther: c[base + HOST_TCP_OTHER]!,
        udp: c[base + HOST_UDP]!,
        icmp: c[base + HOST_ICMP]!,
        other: c[base + HOST_OTHER_PROTO]!,
        unreplied: c[base + HOST_UNREPLIED]!,
        snat: c[base + HOST_SNAT]!,
      });
    }
    return out;
  }

  private async refreshNames(): Promise<void> {
    if (this.closed) return;
    this.own.set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)));
    try {
      this.identities = (await this.hal.hostIdentities?.()) ?? this.identities;
    } catch (error) {
      this.log.warn(`conntrack hosts: could not read host names: ${(error as Error).message}`);
    }
  }
}
