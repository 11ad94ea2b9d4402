/**
 * Which LAN ports to watch, from the board's roles and the live inventory. Pure.
 *
 * - `counted`: members of the LAN bridge that are LAN ports. They go to the HAL's port-counter
 *   source (nftables counts in the bridge family, so only bridge ports can be counted there).
 * - `watched`: every LAN port, counted or not. The sampler keeps a row for each; ports no source
 *   counts fall back to their interface multicast counter (labelled so in status).
 *
 * When the roles list no LAN port that is a bridge member (a profile that names only the bridge),
 * every member of the bridge is counted: on a Pi bridge those are exactly the LAN ports.
 */
import type { LinkInfo, PortCounterPlan } from '../../hal/index.ts';

export interface PortRoles {
  wan: string | null;
  lan: readonly string[];
  bridge: string | null;
}

export interface WatchPlan {
  /** For the HAL's port-counter source; null when there is no LAN bridge to count on. */
  counted: PortCounterPlan | null;
  /** Every port the sampler keeps rates for, counted ones first, in ifindex order. */
  watched: string[];
}

const UNCOUNTABLE_KINDS = new Set(['loopback', 'bridge']);

export function watchPlan(roles: PortRoles, links: Iterable<LinkInfo>): WatchPlan {
  const all = [...links].sort((a, b) => a.index - b.index);
  const bridge = roles.bridge === null ? undefined : all.find((link) => link.name === roles.bridge && link.kind === 'bridge');
  const lan = new Set(roles.lan);
  const isWatchable = (link: LinkInfo): boolean => !UNCOUNTABLE_KINDS.has(link.kind) && link.name !== roles.wan;

  let members: LinkInfo[] = [];
  if (bridge !== undefined) {
    members = all.filter((link) => link.masterIndex === bridge.index && isWatchable(link));
    const lanMembers = members.filter((link) => lan.has(link.name));
    if (lanMembers.length > 0) members = lanMembers;
  }
  const counted = members.map((link) => link.name);
  const others = all.filter((link) => lan.has(link.name) && isWatchable(link) && !counted.includes(link.name)).map((link) => link.name);
  return {
    counted: bridge !== undefined && counted.length > 0 ? { bridge: bridge.name, bridgeMac: bridge.mac, ports: counted } : null,
    watched: [...counted, ...others],
  };
}

/** Two plans count the same thing (then nothing needs re-applying). */
export function samePlan(a: WatchPlan, b: WatchPlan): boolean {
  const ca = a.counted;
  const cb = b.counted;
  const sameCounted =
    ca === null || cb === null
      ? ca === cb
      : ca.bridge === cb.bridge && ca.bridgeMac === cb.bridgeMac && ca.ports.join('\n') === cb.ports.join('\n');
  return sameCounted && a.watched.join('\n') === b.watched.join('\n');
}
