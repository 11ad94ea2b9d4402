/**
 * The NAT intelligence in the state document (issue 5): the new-entry rate, the refusals, the
 * time until the table is full, the upstream usage and the LAN hosts that hold most entries.
 * Read from the status snapshot (NatWatch computes it all); this only picks and shapes it.
 */
import type { ConntrackHostStatus, ConntrackStatus } from '../status/types.ts';

/**
 * Hosts in the state document: enough to name who fills the table, few enough that they
 * fit every state document (110-135 bytes each) within the MQTT bandwidth target.
 */
export const TOP_HOSTS = 5;

/** NatPressure's refusal window, in seconds: what the status field `refused10s` counts over. */
const REFUSED_WINDOW_S = 10;

/** One LAN host as Home Assistant shows it in the attributes: entries by protocol. */
export interface HostState {
  ip: string;
  mac: string | null;
  name: string | null;
  entries: number;
  /** Every TCP state (established, closing, the rest). */
  tcp: number;
  udp: number;
  icmp: number;
  other: number;
}

export interface NatState {
  /** New conntrack entries per second (conntrack events); null without ctnetlink. */
  new_ps: number | null;
  /**
   * Entries the kernel refused (drop + early_drop + insert_failed) per second, averaged over
   * the last 10 s: a refusal between two state documents still shows, unlike a last-tick rate.
   */
  refused_ps: number | null;
  /** Seconds until nf_conntrack_max at the last minute's growth; null when not growing or unknown. */
  full_in_s: number | null;
  /** Percent of nat.upstreamBudget; present only when discovery has the upstream sensor. */
  upstream_pct?: number | null;
  /** Most entries first; empty until the first conntrack dump, or without ctnetlink. */
  top_hosts: HostState[];
}

function hostState(host: ConntrackHostStatus): HostState {
  return {
    ip: host.ip,
    mac: host.mac,
    name: host.name,
    entries: host.entries,
    tcp: host.tcpEstablished + host.tcpClosing + host.tcpOther,
    udp: host.udp,
    icmp: host.icmp,
    other: host.other,
  };
}

/** `upstream`: discovery announced the upstream usage sensor, so its key must be there. */
export function buildNatState(ct: ConntrackStatus, upstream: boolean): NatState {
  const state: NatState = {
    new_ps: ct.newPerS,
    // A whole count over 10 s: n / 10 prints as a short decimal, no rounding needed.
    refused_ps: ct.refused10s === null ? null : ct.refused10s / REFUSED_WINDOW_S,
    full_in_s: ct.secondsToFull,
    top_hosts: ct.hosts.slice(0, TOP_HOSTS).map(hostState),
  };
  // NatWatch already rounds the percentage to 0.1.
  if (upstream) state.upstream_pct = ct.upstream?.pct ?? null;
  return state;
}
