// The agent's NAT view (`agent status --json`: conntrack.hosts, conntrack.upstream) next to the
// kernel's (`conntrack -L` in the lab's router or bridge namespace), in one shape for toEqual.
import type { ConntrackHostStatus, StatusSnapshot } from '../../src/status/types.ts';
import { groupByHost, type OracleRow } from '../helpers/conntrackMessages.ts';
import type { NatLab } from './natLab.ts';
import { conntrackEntries } from './oracle.ts';

export interface RankedRow extends OracleRow {
  ip: string;
}

/** rtr's own addresses: its entries are neither a LAN host's nor sent upstream. */
export function ownAddresses(lab: NatLab): Set<string> {
  return new Set(['127.0.0.1', lab.addrs.rtrLan, lab.addrs.rtrWan]);
}

/** `conntrack -L` in rtr grouped by source, rtr's own addresses left out, most entries first. */
export async function kernelRanking(lab: NatLab): Promise<RankedRow[]> {
  const own = ownAddresses(lab);
  const rows = [...groupByHost(await conntrackEntries(lab.names.rtr))]
    .filter(([ip]) => !own.has(ip))
    .map(([ip, row]) => ({ ip, ...row }));
  return rows.sort((a, b) => b.entries - a.entries);
}

function rankedRow(h: ConntrackHostStatus): RankedRow {
  return {
    ip: h.ip,
    entries: h.entries,
    tcpEstablished: h.tcpEstablished,
    tcpClosing: h.tcpClosing,
    tcpOther: h.tcpOther,
    udp: h.udp,
    icmp: h.icmp,
    otherProto: h.other,
    unreplied: h.unreplied,
    snat: h.snat,
  };
}

/** The agent's ranking (`conntrack.hosts`), in its order. */
export function agentRanking(snapshot: StatusSnapshot): RankedRow[] {
  return (snapshot.conntrack.hosts ?? []).map(rankedRow);
}

/**
 * Polls until the agent's ranking equals the kernel's and `accept` holds (the agent follows
 * conntrack events, and conntrack.upstream is as of its last tick, so it lags by a tick or two)
 * and returns the last pair compared, agreeing or not, for the caller's toEqual to show the
 * difference.
 */
export async function rankingsWhenAgreeing(
  snapshot: () => Promise<StatusSnapshot>,
  lab: NatLab,
  accept: (kernel: RankedRow[], agent: StatusSnapshot) => boolean,
  timeoutMs = 20_000,
): Promise<{ agent: RankedRow[]; kernel: RankedRow[]; snapshot: StatusSnapshot }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const kernel = await kernelRanking(lab);
    const s = await snapshot();
    const agent = agentRanking(s);
    if ((accept(kernel, s) && JSON.stringify(agent) === JSON.stringify(kernel)) || Date.now() > deadline) return { agent, kernel, snapshot: s };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Entries of a ranking, summed over one field. */
export function sumOf(rows: readonly RankedRow[], field: keyof OracleRow): number {
  return rows.reduce((n, r) => n + r[field], 0);
}
