/**
 * Reads one RTM_NEWNEIGH / RTM_DELNEIGH message into reused fields, and sorts it: is it a
 * bridge FDB entry that learning can move, or something else on the same multicast group?
 *
 * RTNLGRP_NEIGH carries, besides the bridge FDB, the ARP and ND caches (AF_INET, AF_INET6)
 * and other AF_BRIDGE tables: a device's own address lists (rtnl_fdb_notify(), NTF_SELF)
 * and vxlan's FDB (vxlan_fdb_info(), NTF_SELF). Only net/bridge/br_fdb.c fdb_fill_info()
 * adds NDA_MASTER, so "AF_BRIDGE, no NTF_SELF, NDA_MASTER present" is the bridge FDB.
 * Layouts: include/uapi/linux/neighbour.h (see hal/netlink/constants.ts).
 */
import {
  AF_BRIDGE,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_VLAN,
  NDMSG_FAMILY,
  NDMSG_FLAGS,
  NDMSG_IFINDEX,
  NDMSG_LEN,
  NDMSG_STATE,
  NLMSG_HDRLEN,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
} from '../netlink/constants.ts';
import { AttrCursor, readS32, readU16, type MessageCursor } from '../netlink/reader.ts';
import { readMacNic, readMacOui } from './macPair.ts';

/**
 * - learned: a dynamic entry the bridge (or a switch chip, NTF_EXT_LEARNED) learned from a
 *   frame's source address; the only kind that moves when the MAC shows up on another port.
 * - local: the bridge's or a port's own address (NUD_PERMANENT). Never learned, never moves;
 *   the kernel only logs "own address as source" when one arrives on a port.
 * - static: added by a person or a daemon (NUD_NOARP); its port changes by configuration.
 * - other: not the bridge FDB (other families, NTF_SELF tables, vxlan) or unreadable.
 */
export type FdbEntryKind = 'learned' | 'local' | 'static' | 'other';

/** The fields of the last message read; valid until the next read. */
export class FdbEntryReader {
  family = 0;
  /** ndm_ifindex: the port, or the bridge itself for an entry with no port. */
  port = 0;
  state = 0;
  flags = 0;
  /** NDA_MASTER: the bridge, 0 when absent. */
  master = 0;
  /** NDA_VLAN, 0 when absent (no VLAN filtering, or VLAN 0). */
  vlan = 0;
  hasMac = false;
  oui = 0;
  nic = 0;
  /** Why the last read failed, or null. */
  problem: string | null = null;
  private readonly attrs = new AttrCursor();

  /** Reads the message under `msg`. False (and `problem` set) if it is malformed. */
  read(msg: MessageCursor): boolean {
    this.problem = null;
    this.master = 0;
    this.vlan = 0;
    this.hasMac = false;
    if (msg.length - NLMSG_HDRLEN < NDMSG_LEN) {
      this.problem = 'ndmsg shorter than 12 bytes';
      return false;
    }
    const buf = msg.buf;
    const base = msg.payloadOffset;
    this.family = buf[base + NDMSG_FAMILY]!;
    this.port = readS32(buf, base + NDMSG_IFINDEX);
    this.state = readU16(buf, base + NDMSG_STATE);
    this.flags = buf[base + NDMSG_FLAGS]!;
    // Other families are not ours to parse; their attributes mean other things.
    if (this.family !== AF_BRIDGE) return true;
    const attr = this.attrs.reset(buf, base + NDMSG_LEN, msg.payloadEnd);
    while (attr.next()) {
      switch (attr.type) {
        case NDA_LLADDR:
          if (attr.length === 6) {
            this.hasMac = true;
            this.oui = readMacOui(buf, attr.offset);
            this.nic = readMacNic(buf, attr.offset);
          }
          break;
        case NDA_MASTER:
          if (attr.length >= 4) this.master = attr.u32();
          break;
        case NDA_VLAN:
          if (attr.length >= 2) this.vlan = readU16(buf, attr.offset);
          break;
        default:
          break;
      }
    }
    if (attr.problem !== null) {
      this.problem = attr.problem;
      return false;
    }
    return true;
  }

  /** What the last successfully read message is; see FdbEntryKind. */
  kind(): FdbEntryKind {
    if (this.family !== AF_BRIDGE || (this.flags & NTF_SELF) !== 0) return 'other';
    if (this.master === 0 || !this.hasMac || this.port <= 0) return 'other';
    if ((this.state & NUD_PERMANENT) !== 0) return 'local';
    if ((this.state & NUD_NOARP) !== 0) return 'static';
    // An entry pointing at the bridge itself has no port to move from or to.
    if (this.port === this.master) return 'other';
    return 'learned';
  }
}
