/**
 * The storm detector's input layout and names. Per port, per tick, all in pps: broadcast +
 * multicast, then the protocol counters of hal/index.ts (PORT_ARP … PORT_DHCP), then "other".
 */

export const STORM_TOTAL = 0;
export const STORM_ARP = 1;
export const STORM_ND = 2;
export const STORM_MDNS = 3;
export const STORM_SSDP = 4;
export const STORM_DHCP = 5;
/** Broadcast + multicast none of the protocol counters matched (hal/index.ts PORT_* note). */
export const STORM_OTHER = 6;
export const STORM_FIELDS = 7;
/** Protocol names, field STORM_ARP + i ↔ index i. */
export const STORM_PROTOCOLS = ['arp', 'nd', 'mdns', 'ssdp', 'dhcp', 'other'] as const;
export type StormProtocol = (typeof STORM_PROTOCOLS)[number];

/** Bits of raisedBy(): which rule raised the port. */
export const RULE_ABSOLUTE = 1;
export const RULE_BASELINE = 2;
