/**
 * Netlink numbers we use, from the Linux uapi headers (values checked against
 * /usr/include/linux/{netlink,rtnetlink,if_link,netfilter/nfnetlink*.h} of linux-libc-dev 6.1
 * and on a live 6.18 kernel). Names follow the kernel's so they can be grepped there.
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
/** Multicast group number (not mask) for link notifications. */
export const RTNLGRP_LINK = 1;

export const AF_UNSPEC = 0;

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
