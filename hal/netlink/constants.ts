/**
 * Netlink numbers we use, from the Linux uapi headers (values checked against
 * /usr/include/linux/{netlink,rtnetlink,if_link,neighbour,netfilter/nfnetlink*.h} of
 * linux-libc-dev 6.1 and on a live 6.18 kernel; the neighbour/FDB ones also against
 * torvalds/linux include/uapi/linux/{neighbour,rtnetlink}.h and net/bridge/br_fdb.c).
 * Names follow the kernel's so they can be grepped there.
 */

// include/uapi/linux/netlink.h
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

// include/uapi/linux/rtnetlink.h
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWSTATS = 92;
export const RTM_GETSTATS = 94;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
/** Multicast group number (not mask) for link notifications. */
export const RTNLGRP_LINK = 1;
/**
 * Group for neighbour notifications: ARP/ND entries (AF_INET/AF_INET6) and bridge FDB
 * entries (AF_BRIDGE, net/bridge/br_fdb.c fdb_notify()). enum rtnetlink_groups:
 * NONE, LINK, NOTIFY, NEIGH.
 */
export const RTNLGRP_NEIGH = 3;

export const AF_UNSPEC = 0;
/** include/linux/socket.h (not uapi; glibc bits/socket.h PF_BRIDGE has the same 7). */
export const AF_BRIDGE = 7;
/** include/linux/socket.h: the IPv6 neighbour cache (ND) dumps with this family. */
export const AF_INET6 = 10;
/** include/uapi/linux/rtnetlink.h: dump the neighbour tables. */
export const RTM_GETNEIGH = 30;
/** include/uapi/linux/neighbour.h: the neighbour's network address. */
export const NDA_DST = 1;

/** struct ifinfomsg: u8 family, u8 pad, u16 type (ARPHRD_*), s32 index, u32 flags, u32 change. */
export const IFINFOMSG_LEN = 16;
/** struct if_stats_msg: u8 family, u8 pad1, u16 pad2, u32 ifindex, u32 filter_mask. */
export const IF_STATS_MSG_LEN = 12;

// include/uapi/linux/if_link.h
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;

export const IFLA_STATS_LINK_64 = 1;
/** filter_mask bit for IFLA_STATS_LINK_64: IFLA_STATS_FILTER_BIT(attr) = 1 << (attr - 1). */
export const IFLA_STATS_FILTER_LINK_64 = 1 << (IFLA_STATS_LINK_64 - 1);

/**
 * struct rtnl_link_stats64: u64 fields in host byte order, in this order. We read the
 * first nine: rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors, tx_errors,
 * rx_dropped, tx_dropped, multicast. The struct has grown over the years (rx_nohandler,
 * rx_otherhost_dropped), so readers check the length only against what they read.
 */
export const RTNL_LINK_STATS64_MIN_LEN = 9 * 8;

// include/uapi/linux/neighbour.h (torvalds/linux; same in linux-libc-dev 6.1 and on 6.18)
/**
 * struct ndmsg: u8 family, u8 pad1, u16 pad2, s32 ifindex, u16 state (NUD_*), u8 flags
 * (NTF_*), u8 type. For a bridge FDB entry (br_fdb.c fdb_fill_info()) the family is
 * AF_BRIDGE and ifindex is the port, or the bridge itself for entries with no port.
 */
export const NDMSG_LEN = 12;
export const NDMSG_FAMILY = 0;
export const NDMSG_IFINDEX = 4;
export const NDMSG_STATE = 8;
export const NDMSG_FLAGS = 10;

// enum NDA_*: UNSPEC, DST, LLADDR, CACHEINFO, PROBES, VLAN, PORT, VNI, IFINDEX, MASTER, …
export const NDA_LLADDR = 2;
/** u16; fdb_fill_info() adds it only when the entry's VLAN id is not 0. */
export const NDA_VLAN = 5;
/** u32 ifindex of the bridge; fdb_fill_info() always adds it, vxlan and NTF_SELF entries don't. */
export const NDA_MASTER = 9;

// ndm_flags
/** Entry of the device's own table (rtnl_fdb_notify(): unicast/multicast address lists, vxlan). */
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
/** Learned by hardware (switchdev/DSA) and synced into the software bridge. */
export const NTF_EXT_LEARNED = 0x10;
export const NTF_OFFLOADED = 0x20;
/** Pinned to its port: br_fdb_update() never moves it. */
export const NTF_STICKY = 0x40;

// ndm_state; fdb_to_nud(): local → PERMANENT, static → NOARP, aged → STALE, else REACHABLE.
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

// include/uapi/linux/if_arp.h (ifi_type)
export const ARPHRD_ETHER = 1;
export const ARPHRD_PPP = 512;
export const ARPHRD_TUNNEL = 768;
export const ARPHRD_LOOPBACK = 772;
export const ARPHRD_NONE = 0xfffe;

// include/uapi/linux/netfilter/nfnetlink.h
export const NFNETLINK_V0 = 0;
export const NFGENMSG_LEN = 4;
export const NFNL_SUBSYS_CTNETLINK = 1;

// include/uapi/linux/netfilter/nfnetlink_conntrack.h
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
export const IPCTNL_MSG_CT_GET_STATS = 5;
export const CT_GET_STATS_CPU = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU;
export const CT_GET_STATS = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS;

// enum ctattr_stats_global
export const CTA_STATS_GLOBAL_ENTRIES = 1;
export const CTA_STATS_GLOBAL_MAX_ENTRIES = 2;

// enum ctattr_stats_cpu (SEARCHED, NEW, IGNORE, DELETE, DELETE_LIST: "no longer used" since 4.9)
export const CTA_STATS_FOUND = 2;
export const CTA_STATS_INVALID = 4;
export const CTA_STATS_INSERT_FAILED = 9;
export const CTA_STATS_DROP = 10;
export const CTA_STATS_EARLY_DROP = 11;
export const CTA_STATS_ERROR = 12;
export const CTA_STATS_SEARCH_RESTART = 13;

// errno values seen in NLMSG_ERROR (negated there).
export const EPERM = 1;
export const ENOENT = 2;
export const EBUSY = 16;
export const ENOBUFS = 105;
export const EOPNOTSUPP = 95;

// nf_tables over nfnetlink: per-port counters are named counter objects in our own table,
// dumped with NFT_MSG_GETOBJ. Values checked against torvalds/linux (master, 2025) and
// /usr/include/linux of linux-libc-dev 6.1:
// include/uapi/linux/netfilter/nfnetlink.h
export const NFNL_SUBSYS_NFTABLES = 10;
// include/uapi/linux/netfilter.h (enum nfproto); nfgenmsg.nfgen_family of nf_tables messages.
export const NFPROTO_BRIDGE = 7;
// include/uapi/linux/netfilter/nf_tables.h (enum nf_tables_msg_types)
export const NFT_MSG_NEWOBJ = 18;
export const NFT_MSG_GETOBJ = 19;
export const NFT_GETOBJ = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
/** Type of each object in a GETOBJ dump reply (nf_tables_dump_obj fills NFT_MSG_NEWOBJ). */
export const NFT_NEWOBJ = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ;
// enum nft_object_attributes. In a dump request NFTA_OBJ_TABLE (NUL-terminated string) and
// NFTA_OBJ_TYPE (be32) filter the dump (net/netfilter/nf_tables_api.c nf_tables_dump_obj_start).
export const NFTA_OBJ_TABLE = 1;
export const NFTA_OBJ_NAME = 2;
export const NFTA_OBJ_TYPE = 3;
export const NFTA_OBJ_DATA = 4;
// #define NFT_OBJECT_COUNTER
export const NFT_OBJECT_COUNTER = 1;
// enum nft_counter_attributes, nested in NFTA_OBJ_DATA: be64 each (net/netfilter/nft_counter.c
// nft_counter_do_dump: nla_put_be64(..., cpu_to_be64(total.packets), NFTA_COUNTER_PAD)).
export const NFTA_COUNTER_BYTES = 1;
export const NFTA_COUNTER_PACKETS = 2;

// Generic netlink (ethtool eth-mac port counters). Values checked against /usr/include/linux
// {netlink,genetlink,ethtool,ethtool_netlink}.h of linux-libc-dev 6.1 (compiled and printed),
// torvalds/linux include/uapi/linux/ethtool_netlink*.h and net/ethtool/{netlink,stats,bitset}.c,
// and on a live 6.18 kernel (the enums only grow at their ends).
// include/uapi/linux/netlink.h
export const NETLINK_GENERIC = 16;
// include/uapi/linux/genetlink.h
/** struct genlmsghdr: u8 cmd, u8 version, u16 reserved. */
export const GENL_HDRLEN = 4;
/** The controller's fixed family id (NLMSG_MIN_TYPE). */
export const GENL_ID_CTRL = 16;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_GETFAMILY = 3;
/** Controller version iproute2/libnl send; the controller ignores it. */
export const CTRL_VERSION = 1;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
/** Nest of nests (keyed 1..n), each CTRL_ATTR_OP_ID + CTRL_ATTR_OP_FLAGS (u32 each). */
export const CTRL_ATTR_OPS = 6;
export const CTRL_ATTR_OP_ID = 1;
export const CTRL_ATTR_OP_FLAGS = 2;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;

// include/uapi/linux/ethtool_netlink.h (ethtool_netlink_generated.h on newer kernels)
export const ETHTOOL_GENL_NAME = 'ethtool';
export const ETHTOOL_GENL_VERSION = 1;
export const ETHTOOL_MSG_STATS_GET = 32;
export const ETHTOOL_MSG_STATS_GET_REPLY = 33;
export const ETHTOOL_A_HEADER_DEV_INDEX = 1;
export const ETHTOOL_A_HEADER_DEV_NAME = 2;
// Bitset nest (net/ethtool/bitset.c): compact form = NOMASK flag + SIZE (bits) + VALUE (u32 words).
export const ETHTOOL_A_BITSET_NOMASK = 1;
export const ETHTOOL_A_BITSET_SIZE = 2;
export const ETHTOOL_A_BITSET_VALUE = 4;
export const ETHTOOL_A_STATS_HEADER = 2;
export const ETHTOOL_A_STATS_GROUPS = 3;
export const ETHTOOL_A_STATS_GRP = 4;
/** u32 enum ethtool_mac_stats_src (0 = aggregate); request and reply, Linux ≥ 6.4. */
export const ETHTOOL_A_STATS_SRC = 5;
/** Bit of the eth-mac group in ETHTOOL_A_STATS_GROUPS (enum: ETH_PHY, ETH_MAC, ETH_CTRL, RMON, PHY). */
export const ETHTOOL_STATS_ETH_MAC = 1;
export const ETHTOOL_A_STATS_GRP_ID = 2;
export const ETHTOOL_A_STATS_GRP_SS_ID = 3;
/** One per counter: a nest holding a single u64 attribute whose type is the counter id. */
export const ETHTOOL_A_STATS_GRP_STAT = 4;
/** IEEE 802.3 30.3.1.1.21 aMulticastFramesReceivedOK ("MulticastFramesReceivedOK"). */
export const ETHTOOL_A_STATS_ETH_MAC_21_RX_MCAST = 17;
/** IEEE 802.3 30.3.1.1.22 aBroadcastFramesReceivedOK ("BroadcastFramesReceivedOK"). */
export const ETHTOOL_A_STATS_ETH_MAC_22_RX_BCAST = 18;
/** include/uapi/linux/ethtool.h enum ethtool_stringset: GRP_SS_ID of the eth-mac group. */
export const ETH_SS_STATS_ETH_MAC = 18;
/** errno: the kernel's answer to a request naming an interface the namespace does not have. */
export const ENODEV = 19;

// Conntrack table dump and events (per-host ranking, hal/linux/conntrackDump.ts and
// conntrackEvents.ts). Values compiled and printed from /usr/include/linux of linux-libc-dev 6.1
// (netlink.h, netfilter/nfnetlink.h, nfnetlink_conntrack.h, nf_conntrack_common.h,
// nf_conntrack_tcp.h) and checked on a live 6.18 kernel (test/fixtures/netlink/ct-*.hex).
// include/uapi/linux/netlink.h: on an event, NEW carries CREATE|EXCL, UPDATE carries neither
// (ctnetlink_conntrack_event); NLM_F_EXCL shares its bit with NLM_F_MATCH of requests.
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const AF_INET = 2;
// enum cntl_msg_types
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
/** Type of every dump reply entry and of NEW/UPDATE events. */
export const CT_NEW = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
/** With NLM_F_DUMP: the table dump. */
export const CT_GET = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
/** Type of DESTROY events. */
export const CT_DELETE = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
// enum nfnetlink_groups (group numbers, not masks)
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;
// enum ctattr_type (top level of an entry)
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
/** be32 IPS_* bitmask. */
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
/** be32; the kernel's opaque, stable-for-life id of the entry (nf_ct_get_id). */
export const CTA_ID = 12;
// enum ctattr_tuple, enum ctattr_ip, enum ctattr_l4proto
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V6_SRC = 3;
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;
// enum ctattr_protoinfo, enum ctattr_protoinfo_tcp
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_TCP_STATE = 1;
// include/uapi/linux/netfilter/nf_conntrack_common.h (enum ip_conntrack_status bits)
export const IPS_SEEN_REPLY = 0x2;
export const IPS_SRC_NAT = 0x10;
/** Flow offloaded to a flowtable: the kernel then omits CTA_TIMEOUT and CTA_PROTOINFO. */
export const IPS_OFFLOAD = 0x4000;
// include/uapi/linux/netfilter/nf_conntrack_tcp.h (enum tcp_conntrack)
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE = 8;
// IP protocol numbers (include/uapi/linux/in.h, in6.h)
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
