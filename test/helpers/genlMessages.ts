/**
 * Hand-built generic netlink messages for unit tests: controller (family) replies and ethtool
 * STATS_GET replies, laid out as the kernel lays them out. Host byte order is little-endian
 * here, as on every machine the tests run on. Numbers and where they come from:
 *   genetlink.h:  GENL_ID_CTRL 16, CTRL_CMD_NEWFAMILY 1, CTRL_ATTR_FAMILY_ID 1 (u16),
 *                 CTRL_ATTR_FAMILY_NAME 2, CTRL_ATTR_VERSION 3, CTRL_ATTR_OPS 6 { n: { OP_ID 1, OP_FLAGS 2 } },
 *                 GENL_CMD_CAP_DO 0x2, GENL_CMD_CAP_DUMP 0x4
 *   netlink.h:    NLM_F_MULTI 0x2, NLA_F_NESTED 0x8000
 *   ethtool_netlink.h: ETHTOOL_MSG_STATS_GET 32, ETHTOOL_MSG_STATS_GET_REPLY 33,
 *                 ETHTOOL_A_STATS_HEADER 2 { ETHTOOL_A_HEADER_DEV_INDEX 1, ETHTOOL_A_HEADER_DEV_NAME 2 },
 *                 ETHTOOL_A_STATS_GRP 4 { GRP_ID 2, GRP_SS_ID 3, GRP_STAT 4 { <id>: u64 } },
 *                 ETHTOOL_A_STATS_SRC 5, ETHTOOL_STATS_ETH_MAC 1 (group bit / GRP_ID),
 *                 ETHTOOL_A_STATS_ETH_MAC_21_RX_MCAST 17, ETHTOOL_A_STATS_ETH_MAC_22_RX_BCAST 18,
 *                 ETHTOOL_A_STATS_ETH_MAC_5_RX_PKT 3
 *   ethtool.h:    ETH_SS_STATS_ETH_MAC 18 (GRP_SS_ID)
 * (checked by compiling against /usr/include/linux of linux-libc-dev 6.1 and against the 6.18
 * capture in test/fixtures/netlink/ethtool-stats-dump.hex).
 */
import { attr, message } from './netlinkFixtures.ts';

export const NESTED = 0x8000;
export const NLM_F_MULTI = 0x2;
export const STATS_GET = 32;
export const STATS_GET_REPLY = 33;
export const ETH_MAC_RX_PKT = 3;
export const ETH_MAC_RX_MCAST = 17;
export const ETH_MAC_RX_BCAST = 18;

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16LE(value);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value);
  return out;
}

export function u64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(value);
  return out;
}

export function nest(type: number, children: Buffer[]): Buffer {
  return attr(type | NESTED, Buffer.concat(children));
}

/** nlmsghdr + genlmsghdr(cmd, version 1) + attributes. */
export function genlMessage(type: number, flags: number, seq: number, cmd: number, attrs: Buffer[]): Buffer {
  return message(type, flags, seq, Buffer.concat([Buffer.from([cmd, 1, 0, 0]), ...attrs]));
}

export interface FamilyReplySpec {
  id: number;
  name: string;
  version?: number;
  /** [command, GENL_CMD_CAP_* flags] */
  ops?: [number, number][];
}

/** CTRL_CMD_NEWFAMILY as ctrl_fill_info() builds it (the fields we read). */
export function familyReply(seq: number, spec: FamilyReplySpec): Buffer {
  const ops = (spec.ops ?? []).map(([cmd, flags], i) => nest(i + 1, [attr(1, u32(cmd)), attr(2, u32(flags))]));
  return genlMessage(16, 0, seq, 1, [
    attr(2, Buffer.from(`${spec.name}\0`)),
    attr(1, u16(spec.id)),
    attr(3, u32(spec.version ?? 1)),
    attr(4, u32(0)), // CTRL_ATTR_HDRSIZE
    attr(5, u32(10)), // CTRL_ATTR_MAXATTR
    nest(6, ops),
  ]);
}

export interface StatsReplySpec {
  name: string;
  ifindex?: number;
  /** MulticastFramesReceivedOK; omitted when undefined (the driver did not set it). */
  multicast?: bigint;
  broadcast?: bigint;
  /** Leave out the eth-mac group entirely. */
  noGroup?: boolean;
  /** Message flags; NLM_F_MULTI for a dump part (default), 0 for a port request's reply. */
  flags?: number;
}

/** One counter, as stat_put() writes it: a GRP_STAT nest around one u64 keyed by counter id. */
export function statNest(id: number, value: bigint): Buffer {
  return nest(4, [attr(id, u64(value))]);
}

/** ETHTOOL_MSG_STATS_GET_REPLY for one device, as stats_fill_reply() lays it out on 6.18. */
export function statsReply(familyId: number, seq: number, spec: StatsReplySpec): Buffer {
  const header = nest(2, [attr(1, u32(spec.ifindex ?? 7)), attr(2, Buffer.from(`${spec.name}\0`))]);
  const stats = [statNest(ETH_MAC_RX_PKT, 1000n)];
  if (spec.multicast !== undefined) stats.push(statNest(ETH_MAC_RX_MCAST, spec.multicast));
  if (spec.broadcast !== undefined) stats.push(statNest(ETH_MAC_RX_BCAST, spec.broadcast));
  const group = nest(4, [attr(2, u32(1)), attr(3, u32(18)), ...stats]);
  return genlMessage(familyId, spec.flags ?? NLM_F_MULTI, seq, STATS_GET_REPLY, [header, attr(5, u32(0)), ...(spec.noGroup ? [] : [group])]);
}

/** The device name of a port request (its ETHTOOL_A_HEADER_DEV_NAME), for answering it. */
export function requestedPort(request: Buffer): string {
  const text = request.toString('latin1', 20);
  const match = /([^\0]+)\0/.exec(text.slice(8)); // header nest (4) + name attr header (4)
  if (!match) throw new Error('request without a device name');
  return match[1]!;
}
