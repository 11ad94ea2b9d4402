/**
 * Board profiles as data. A profile names the role the box plays and the config defaults that
 * suit it; which interfaces are WAN, LAN and bridge is worked out per box by resolve.ts, because
 * the same board is wired differently in different homes.
 *
 * `defaults` is a config layer merged after the built-in defaults and before the config file and
 * the environment, so the user's config always wins over the profile.
 */
import type { ConfigLayer, NatTableAlarmLevels } from '../src/config/types.ts';

export type BoardRole = 'router' | 'bridge' | 'host';

/** The upstream NAT budget the pi-bridge profile assumes (sessions). */
export const PI_BRIDGE_UPSTREAM_BUDGET = 2000;

export const PROFILE_IDS = ['pi-router', 'pi-bridge', 'openwrt-dsa', 'generic'] as const;
export type ProfileId = (typeof PROFILE_IDS)[number];

export interface BoardProfile {
  id: ProfileId;
  /** For `agent status` and the Home Assistant device page. */
  name: string;
  role: BoardRole;
  defaults: ConfigLayer;
}

/**
 * netdata's netfilter_conntrack_full alarm (on chart netfilter.conntrack_sockets): warn above
 * 90 %, clear below 85 %; critical above 95 %, clear below 90 %. Identical in every profile for now; a profile can diverge (a bridge
 * that does no NAT, a router with a small table) by changing its own copy.
 */
function netdataNatLevels(): Partial<NatTableAlarmLevels> {
  return { warnPct: 90, warnClearPct: 85, critPct: 95, critClearPct: 90 };
}

/** Frozen all the way down, so a config merge that mutates its inputs fails loudly in tests. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const PROFILES: readonly BoardProfile[] = deepFreeze([
  {
    // Pi 4 / Pi 5 routing between two Ethernet NICs: the on-board port and a USB (or PCIe) one,
    // either way round.
    id: 'pi-router',
    name: 'Raspberry Pi router',
    role: 'router',
    defaults: { alarms: { natTable: netdataNatLevels() } },
  },
  {
    // Pi bridging its Ethernet ports (between the ISP box and the LAN, or as an access point).
    id: 'pi-bridge',
    name: 'Raspberry Pi transparent bridge',
    role: 'bridge',
    // A transparent bridge has no NAT of its own: the table that overflows is the ISP router's
    // in front. 2,000 sessions is the conservative end of home routers (the field story's cable
    // modem); the agent says at start that this is an assumption to replace with the real figure.
    defaults: { alarms: { natTable: netdataNatLevels() }, nat: { upstreamBudget: PI_BRIDGE_UPSTREAM_BUDGET } },
  },
  {
    // OpenWrt router whose switch ports are DSA user ports: lan1..lanN (lan0.. on some boards)
    // in br-lan, and a `wan` port or a separate WAN NIC.
    id: 'openwrt-dsa',
    name: 'OpenWrt router with a DSA switch',
    role: 'router',
    defaults: { alarms: { natTable: netdataNatLevels() } },
  },
  {
    // Anything else: an x86 box, a VM, a Pi with one port. Interfaces are a best guess.
    id: 'generic',
    name: 'Generic Linux host',
    role: 'host',
    defaults: { alarms: { natTable: netdataNatLevels() } },
  },
]);

export function isProfileId(id: string): id is ProfileId {
  return (PROFILE_IDS as readonly string[]).includes(id);
}

export function getProfile(id: ProfileId): BoardProfile {
  // PROFILES has one entry per id (a unit test holds it to that).
  return PROFILES.find((p) => p.id === id)!;
}
