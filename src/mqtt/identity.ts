/**
 * Who this agent is to Home Assistant. Unique ids come from a MAC address, never from the
 * hostname or an IP (HA's entity registry rules: those change, and two Pis both called
 * "raspberrypi" would merge into one device). The MAC chosen is the one least likely to
 * change across reboots: a physical NIC's factory (globally administered) address.
 */
import type { LinkInfo } from '../../hal/index.ts';

export interface AgentIdentity {
  /** Lower-case colon MAC the ids derive from, or null when the box has none. */
  mac: string | null;
  /** "lanwatch_dca632005e01": HA device identifier and the prefix of every unique_id. */
  deviceId: string;
  /** Topic segment and discovery object id: config mqtt.nodeId, else deviceId. */
  nodeId: string;
}

const ZERO_MAC = '00:00:00:00:00:00';

/** Bit 1 of the first octet set = locally administered (random veth, bridge, VM) addresses. */
function isLocallyAdministered(mac: string): boolean {
  return (Number.parseInt(mac.slice(0, 2), 16) & 0x02) !== 0;
}

/**
 * The primary MAC: the WAN's if it is a physical NIC, else the physical NIC with the lowest
 * ifindex (the on-board port enumerates first at boot; a USB NIC later). Locally administered
 * addresses only as a last resort, because most of them are random per boot.
 */
export function primaryMac(links: Iterable<LinkInfo>, wan: string | null): string | null {
  const usable = [...links].filter((l) => l.mac !== null && l.mac !== ZERO_MAC && l.kind !== 'loopback');
  usable.sort((a, b) => a.index - b.index);
  const physical = usable.filter((l) => l.kind === 'ethernet' && !isLocallyAdministered(l.mac!));
  const wanLink = physical.find((l) => l.name === wan);
  const chosen = wanLink ?? physical[0] ?? usable.find((l) => !isLocallyAdministered(l.mac!)) ?? usable[0];
  return chosen?.mac ?? null;
}

/**
 * `fallbackSeed` (e.g. /etc/machine-id) is used only on a box with no MAC at all; it keeps the
 * id stable across restarts where a random one would make HA create a new device every boot.
 */
export function agentIdentity(mac: string | null, configuredNodeId: string | null, fallbackSeed: string): AgentIdentity {
  const suffix = mac !== null ? mac.replaceAll(':', '') : fallbackSeed.replace(/[^0-9a-f]/gi, '').slice(0, 12).toLowerCase() || 'unknown';
  const deviceId = `lanwatch_${suffix}`;
  return { mac, deviceId, nodeId: configuredNodeId ?? deviceId };
}
