/**
 * The JSON document published on `<base>/<node>/state` every state interval. Keys are
 * snake_case (Home Assistant's templates and most users' automations expect it). Units are
 * in the key: `_ps` per second, `_bytes_ps` BYTES per second, `pct` percent. A value the
 * agent does not know is null, which HA shows as "unknown" rather than a made-up 0.
 */
import type { InterfaceRole, StatusSnapshot } from '../status/types.ts';
import { buildNatState, type NatState } from './natState.ts';

export interface PortState {
  role: InterfaceRole;
  /** False while the interface is gone (unplugged USB NIC); its values are null then. */
  present: boolean;
  oper_state: string | null;
  rx_bytes_ps: number | null;
  tx_bytes_ps: number | null;
  rx_pps: number | null;
  tx_pps: number | null;
  /** From the bridge-port counters when the port is counted, else the driver's counter. */
  multicast_pps: number | null;
  /** Counted bridge ports only (else null): ingress broadcast frames per second. */
  broadcast_pps: number | null;
  /** Where broadcast/multicast come from: "nftables", "ethtool"…; null = the driver's multicast counter. */
  counter_source: string | null;
  errors_ps: number | null;
  drops_ps: number | null;
}

export interface StateDocument {
  agent: { version: string; uptime_s: number; started_at: string };
  conntrack: {
    count: number | null;
    max: number | null;
    pct: number | null;
    drop_ps: number | null;
    early_drop_ps: number | null;
    insert_failed_ps: number | null;
  } & NatState;
  ports: Record<string, PortState>;
}

/** A port the agent publishes: one with a role on this board (WAN, LAN port, LAN bridge). */
export interface PublishedPort {
  name: string;
  role: Exclude<InterfaceRole, null>;
  /** Has bridge-port broadcast/multicast counters (a LAN bridge port). */
  counted: boolean;
}

/** What one discovery announced beyond the fixed entities; the state document carries exactly its keys. */
export interface PublishedEntities {
  ports: PublishedPort[];
  /** The upstream NAT usage sensor: only with nat.upstreamBudget set. */
  upstream: boolean;
}

/** The ports worth an entity in HA: loopback, tunnels and containers' veths are not. */
export function publishedPorts(snapshot: StatusSnapshot): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const link of snapshot.interfaces) {
    if (link.role !== null) ports.push({ name: link.name, role: link.role, counted: link.portCounterSource !== null });
  }
  return ports.sort((a, b) => a.name.localeCompare(b.name));
}

/** The status contract has `conntrack.upstream` null exactly when no upstream budget is set. */
export function publishedEntities(snapshot: StatusSnapshot): PublishedEntities {
  return { ports: publishedPorts(snapshot), upstream: snapshot.conntrack.upstream !== null };
}

export function samePublished(a: PublishedEntities, b: PublishedEntities): boolean {
  return (
    a.upstream === b.upstream &&
    a.ports.length === b.ports.length &&
    a.ports.every((port, i) => port.name === b.ports[i]?.name && port.role === b.ports[i]?.role && port.counted === b.ports[i]?.counted)
  );
}

/** Rates to a precision a person reads; trims the document by a third at 8 ports. */
function round(value: number | null, decimals: number): number | null {
  if (value === null) return null;
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** Lists exactly what discovery announced (`published`), so no HA template ever misses its key. */
export function buildStateDocument(snapshot: StatusSnapshot, published: PublishedEntities): StateDocument {
  const { ports } = published;
  const byName = new Map(snapshot.interfaces.map((link) => [link.name, link]));
  const portStates: Record<string, PortState> = {};
  for (const port of ports) {
    const link = byName.get(port.name);
    portStates[port.name] = {
      role: port.role,
      present: link !== undefined,
      oper_state: link?.operState ?? null,
      rx_bytes_ps: round(link?.rxBps ?? null, 0),
      tx_bytes_ps: round(link?.txBps ?? null, 0),
      rx_pps: round(link?.rxPps ?? null, 1),
      tx_pps: round(link?.txPps ?? null, 1),
      multicast_pps: round((port.counted ? link?.mcastPps : link?.multicastPps) ?? null, 1),
      broadcast_pps: port.counted ? round(link?.bcastPps ?? null, 1) : null,
      counter_source: port.counted ? (link?.portCounterSource ?? null) : null,
      errors_ps: round(link?.errorsPerS ?? null, 1),
      drops_ps: round(link?.dropsPerS ?? null, 1),
    };
  }
  const ct = snapshot.conntrack;
  return {
    agent: { version: snapshot.agent.version, uptime_s: snapshot.agent.uptimeS, started_at: snapshot.agent.startedAt },
    conntrack: {
      count: ct.count,
      max: ct.max,
      pct: round(ct.pct, 1),
      drop_ps: round(ct.dropPerS, 1),
      early_drop_ps: round(ct.earlyDropPerS, 1),
      insert_failed_ps: round(ct.insertFailedPerS, 1),
      ...buildNatState(ct, published.upstream),
    },
    ports: portStates,
  };
}
