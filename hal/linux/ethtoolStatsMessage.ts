/**
 * ETHTOOL_MSG_STATS_GET requests for the IEEE 802.3 MAC counters (`eth-mac` group) and an
 * allocation-free reader of the replies.
 *
 * Request (Documentation/networking/ethtool-netlink.rst, STATS_GET; net/ethtool/stats.c):
 *   genlmsghdr { cmd ETHTOOL_MSG_STATS_GET, version ETHTOOL_GENL_VERSION }
 *   [ETHTOOL_A_STATS_HEADER { ETHTOOL_A_HEADER_DEV_NAME }]   one port; absent in a dump
 *   ETHTOOL_A_STATS_GROUPS  bitset, compact form: NOMASK, SIZE 32, VALUE u32 1 << ETHTOOL_STATS_ETH_MAC
 * The kernel parses the bitset with ethnl_update_bitset() (net/ethtool/bitset.c), which takes
 * either a bit list with names ("eth-mac", what the ethtool CLI sends) or the compact form; the
 * compact one needs no strings and the bit index is uapi. VALUE is an array of host-order u32
 * words, its length must be DIV_ROUND_UP(SIZE, 32) words, and bits past the kernel's group
 * count must be 0.
 *
 * No ETHTOOL_A_STATS_SRC: it exists since Linux 6.4 (MAC merge), the kernel defaults to
 * ETHTOOL_MAC_STATS_SRC_AGGREGATE (eMAC + pMAC: every frame the port received, which is what a
 * storm counter wants), and older kernels would reject the unknown attribute. Nor a header
 * ETHTOOL_FLAG_STATS: that flag asks other messages (pause, FEC) for their statistics.
 *
 * Reply, per device (one message for a port request; one per netdev of the namespace in a
 * dump, each flagged NLM_F_MULTI, then NLMSG_DONE), as seen on 6.18:
 *   ETHTOOL_A_STATS_HEADER { DEV_INDEX u32, DEV_NAME string }
 *   ETHTOOL_A_STATS_SRC u32 (6.4+)
 *   ETHTOOL_A_STATS_GRP { GRP_ID u32 = ETHTOOL_STATS_ETH_MAC, GRP_SS_ID u32 = ETH_SS_STATS_ETH_MAC,
 *                         GRP_STAT { <counter id>: u64 } … }
 * The group is always there when asked for; stats_prepare_data() presets every counter to
 * ETHTOOL_STAT_NOT_SET and stat_put() leaves those out, so a driver without get_eth_mac_stats
 * (veth, virtio_net, bridge, lo) answers with an empty group rather than an error, and a
 * driver that fills only some counters (airoha: broadcast only) sends only those. Counter ids
 * start at 0, so each counter sits in a nest of its own; the u64 is host order
 * (nla_put_u64_64bit), and on arches without efficient unaligned access zero-length
 * ETHTOOL_A_STATS_GRP_PAD attributes may sit between the nests.
 */
import { endianness } from 'node:os';
import {
  ETHTOOL_A_BITSET_NOMASK,
  ETHTOOL_A_BITSET_SIZE,
  ETHTOOL_A_BITSET_VALUE,
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_DEV_NAME,
  ETHTOOL_A_STATS_ETH_MAC_21_RX_MCAST,
  ETHTOOL_A_STATS_ETH_MAC_22_RX_BCAST,
  ETHTOOL_A_STATS_GROUPS,
  ETHTOOL_A_STATS_GRP,
  ETHTOOL_A_STATS_GRP_ID,
  ETHTOOL_A_STATS_GRP_STAT,
  ETHTOOL_A_STATS_HEADER,
  ETHTOOL_GENL_VERSION,
  ETHTOOL_MSG_STATS_GET,
  ETHTOOL_MSG_STATS_GET_REPLY,
  ETHTOOL_STATS_ETH_MAC,
  GENL_HDRLEN,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from '../netlink/constants.ts';
import { AttrCursor, type MessageCursor } from '../netlink/reader.ts';
import { allocGenlRequest, nlattr, nlattrNest, nlattrString, nlattrU32 } from './genetlinkFamily.ts';

const HOST_LE = endianness() === 'LE';

/**
 * In a host-order u64: the offsets of the least significant byte of its low and of its high
 * 32-bit word, and the step from a byte to the next more significant one.
 */
const U64_LOW = HOST_LE ? 0 : 7;
const U64_HIGH = HOST_LE ? 4 : 3;
const U64_STEP = HOST_LE ? 1 : -1;

/** The group bitset: one u32 word (SIZE 32) with only the eth-mac bit set. */
function ethMacGroups(): Buffer {
  return nlattrNest(ETHTOOL_A_STATS_GROUPS, [
    nlattr(ETHTOOL_A_BITSET_NOMASK, new Uint8Array(0)),
    nlattrU32(ETHTOOL_A_BITSET_SIZE, 32),
    nlattrU32(ETHTOOL_A_BITSET_VALUE, 1 << ETHTOOL_STATS_ETH_MAC),
  ]);
}

/** The eth-mac counters of every netdev in the socket's namespace, as one dump. */
export function allocEthMacDumpRequest(familyId: number): Buffer {
  return allocGenlRequest(familyId, NLM_F_REQUEST | NLM_F_DUMP, ETHTOOL_MSG_STATS_GET, ETHTOOL_GENL_VERSION, ethMacGroups());
}

/** The eth-mac counters of one interface, by name (answered with ENODEV when there is none). */
export function allocEthMacPortRequest(familyId: number, port: string): Buffer {
  const header = nlattrNest(ETHTOOL_A_STATS_HEADER, [nlattrString(ETHTOOL_A_HEADER_DEV_NAME, port)]);
  return allocGenlRequest(familyId, NLM_F_REQUEST, ETHTOOL_MSG_STATS_GET, ETHTOOL_GENL_VERSION, Buffer.concat([header, ethMacGroups()]));
}

/**
 * Reads one ETHTOOL_MSG_STATS_GET_REPLY: the device and its two receive counters. Fields are
 * overwritten per message; create once, reuse for every message.
 */
export class EthMacReplyReader {
  /** Device name bytes in the message buffer (trailing NULs excluded); length 0 if none. */
  nameOffset = 0;
  nameLength = 0;
  /** ETHTOOL_A_HEADER_DEV_INDEX, 0 if absent. */
  ifindex = 0;
  /** Whether the reply has the eth-mac group at all (kernels since 5.13 always add it). */
  hasEthMacGroup = false;
  /** MulticastFramesReceivedOK / BroadcastFramesReceivedOK, NaN when the driver leaves it out. */
  rxMulticast = NaN;
  rxBroadcast = NaN;
  /** Why the message is malformed, or null. */
  problem: string | null = null;
  private readonly attrs = new AttrCursor();
  private readonly nest = new AttrCursor();
  private readonly group = new AttrCursor();
  private readonly stat = new AttrCursor();

  /**
   * True for a STATS_GET reply naming its device, malformed or not: check `problem`. False for
   * other commands (ignore those) and for malformed ones (`problem` set).
   */
  read(msg: MessageCursor): boolean {
    this.nameLength = 0;
    this.ifindex = 0;
    this.hasEthMacGroup = false;
    this.rxMulticast = NaN;
    this.rxBroadcast = NaN;
    this.problem = null;
    if (msg.length < NLMSG_HDRLEN + GENL_HDRLEN) {
      this.problem = 'message shorter than its genetlink header';
      return false;
    }
    if (msg.buf[msg.payloadOffset] !== ETHTOOL_MSG_STATS_GET_REPLY) return false;
    const attr = this.attrs.reset(msg.buf, msg.payloadOffset + GENL_HDRLEN, msg.payloadEnd);
    while (attr.next()) {
      if (attr.type === ETHTOOL_A_STATS_HEADER) this.readHeader(attr);
      else if (attr.type === ETHTOOL_A_STATS_GRP) this.readGroup(attr);
    }
    if (attr.problem) this.problem ??= attr.problem;
    if (this.problem === null && this.nameLength === 0) this.problem = 'reply without a device name';
    return this.problem === null;
  }

  /** Both counters present: the port can be counted in hardware. */
  get hasCounters(): boolean {
    return !Number.isNaN(this.rxMulticast) && !Number.isNaN(this.rxBroadcast);
  }

  private readHeader(attr: AttrCursor): void {
    const header = attr.enter(this.nest);
    while (header.next()) {
      if (header.type === ETHTOOL_A_HEADER_DEV_INDEX) this.ifindex = header.u32();
      else if (header.type === ETHTOOL_A_HEADER_DEV_NAME) {
        let length = header.length;
        while (length > 0 && header.buf[header.offset + length - 1] === 0) length--;
        this.nameOffset = header.offset;
        this.nameLength = length;
      }
    }
    if (header.problem) this.problem ??= `stats header: ${header.problem}`;
  }

  private readGroup(attr: AttrCursor): void {
    const group = attr.enter(this.group);
    let id = -1;
    let multicast = NaN;
    let broadcast = NaN;
    while (group.next()) {
      if (group.type === ETHTOOL_A_STATS_GRP_ID) id = group.u32();
      else if (group.type === ETHTOOL_A_STATS_GRP_STAT) {
        const stat = group.enter(this.stat);
        while (stat.next()) {
          if (stat.type !== ETHTOOL_A_STATS_ETH_MAC_21_RX_MCAST && stat.type !== ETHTOOL_A_STATS_ETH_MAC_22_RX_BCAST) continue;
          if (stat.length < 8) {
            this.problem ??= `stats counter ${stat.type}: ${stat.length} bytes, expected a u64`;
            continue;
          }
          // The host-order u64, exact to 2^53, from byte loads written out here: reader.ts readU64
          // (Buffer.readUInt32LE) or any helper function that is not inlined returns a value of
          // 2^31 or more as a new heap number, 16 bytes per counter per tick (seen with the
          // sampling heap profiler); byte loads are small integers and the sum stays unboxed.
          const buf = stat.buf;
          const lo = stat.offset + U64_LOW;
          const hi = stat.offset + U64_HIGH;
          const value =
            (buf[hi]! + buf[hi + U64_STEP]! * 0x100 + buf[hi + 2 * U64_STEP]! * 0x10000 + buf[hi + 3 * U64_STEP]! * 0x1000000) * 0x100000000 +
            (buf[lo]! + buf[lo + U64_STEP]! * 0x100 + buf[lo + 2 * U64_STEP]! * 0x10000 + buf[lo + 3 * U64_STEP]! * 0x1000000);
          if (stat.type === ETHTOOL_A_STATS_ETH_MAC_21_RX_MCAST) multicast = value;
          else broadcast = value;
        }
        if (stat.problem) this.problem ??= `stats counter: ${stat.problem}`;
      }
    }
    if (group.problem) this.problem ??= `stats group: ${group.problem}`;
    // Counter ids are per group (an rmon counter may share 17 or 18): keep only eth-mac's.
    if (id !== ETHTOOL_STATS_ETH_MAC) return;
    this.hasEthMacGroup = true;
    this.rxMulticast = multicast;
    this.rxBroadcast = broadcast;
  }
}
