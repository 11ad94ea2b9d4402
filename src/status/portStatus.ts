/**
 * The bridge-port fields of an interface in the status snapshot: broadcast/multicast rates,
 * the protocol breakdown, own frames and the last minute as one value per second. Built on
 * request only.
 */
import {
  PT_ARP_PPS,
  PT_BCAST_PPS,
  PT_DHCP_PPS,
  PT_MCAST_PPS,
  PT_MDNS_PPS,
  PT_ND_PPS,
  PT_OTHER_PPS,
  PT_OWN_PS,
  PT_SSDP_PPS,
} from '../sampler/portTable.ts';
import type { Sampler } from '../sampler/sampler.ts';
import type { InterfaceStatus } from './types.ts';

type PortFields = Pick<InterfaceStatus, 'bcastPps' | 'mcastPps' | 'protocols' | 'ownFramesPerS' | 'portCounterSource' | 'bcastMcastLast60s'>;

const NONE: PortFields = {
  bcastPps: null,
  mcastPps: null,
  protocols: null,
  ownFramesPerS: null,
  portCounterSource: null,
  bcastMcastLast60s: null,
};

function known(value: number): number | null {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : null;
}

const SPARK_SECONDS = 60;

/**
 * One value per second, oldest first: the mean of the ticks in that second (the sampler may
 * run at 10 Hz), null for a second without a known value.
 */
export function lastMinute(sampler: Sampler, value: (index: number) => number): (number | null)[] {
  const sums = new Float64Array(SPARK_SECONDS);
  const counts = new Uint16Array(SPARK_SECONDS);
  const newest = sampler.clock.indexAt(0);
  if (newest < 0) return new Array<number | null>(SPARK_SECONDS).fill(null);
  const newestTime = sampler.clock.times[newest]!;
  for (let age = 0; ; age++) {
    const index = sampler.clock.indexAt(age);
    if (index < 0) break;
    const second = Math.floor((newestTime - sampler.clock.times[index]!) / 1000);
    if (second >= SPARK_SECONDS) break;
    const v = value(index);
    if (!Number.isFinite(v)) continue;
    sums[SPARK_SECONDS - 1 - second]! += v;
    counts[SPARK_SECONDS - 1 - second]!++;
  }
  return Array.from(sums, (sum, i) => (counts[i] === 0 ? null : Math.round((sum / counts[i]!) * 10) / 10));
}

export function portFields(sampler: Sampler, name: string): PortFields {
  const row = sampler.ports.row(name);
  if (row === null || !row.planned) return NONE;
  const at = sampler.clock.indexAt(0);
  const h = row.history;
  return {
    bcastPps: known(h.get(PT_BCAST_PPS, at)),
    mcastPps: known(h.get(PT_MCAST_PPS, at)),
    protocols: {
      arp: known(h.get(PT_ARP_PPS, at)),
      nd: known(h.get(PT_ND_PPS, at)),
      mdns: known(h.get(PT_MDNS_PPS, at)),
      ssdp: known(h.get(PT_SSDP_PPS, at)),
      dhcp: known(h.get(PT_DHCP_PPS, at)),
      other: known(h.get(PT_OTHER_PPS, at)),
    },
    ownFramesPerS: known(h.get(PT_OWN_PS, at)),
    portCounterSource: row.source,
    // On the interface-multicast fallback broadcast is unknown: the line is multicast alone.
    bcastMcastLast60s: lastMinute(sampler, (index) => {
      const bcast = h.get(PT_BCAST_PPS, index);
      const mcast = h.get(PT_MCAST_PPS, index);
      return bcast === bcast ? bcast + mcast : mcast;
    }),
  };
}
