/**
 * Interface counters from /proc/net/dev: one read for all links per tick, where
 * /sys/class/net/<if>/statistics/ would take nine reads per link. Used when the netlink
 * addon cannot load. Same kernel source (dev_get_stats), except that "drop" also counts
 * rx_missed_errors.
 *
 * Lines are "  name: rx_bytes rx_packets rx_errs rx_drop fifo frame compressed multicast
 * tx_bytes tx_packets tx_errs tx_drop fifo colls carrier compressed". Names are matched as
 * bytes against a small cache so the steady state creates no strings.
 */
import { join } from 'node:path';
import type { LinkCounterSink, LinkStatsSource, ReadDone, SourceStatus } from '../index.ts';
import {
  LINK_FIELDS,
  LINK_MULTICAST,
  LINK_RX_BYTES,
  LINK_RX_DROPPED,
  LINK_RX_ERRORS,
  LINK_RX_PACKETS,
  LINK_TX_BYTES,
  LINK_TX_DROPPED,
  LINK_TX_ERRORS,
  LINK_TX_PACKETS,
} from '../index.ts';
import { ProcFile } from './procFile.ts';
import { nextLine, parseUnsigned, skipBlanks, tokenEnd } from './text.ts';

/** /proc/net/dev column (after the name) → our row field, -1 = not used. */
const COLUMN_TO_FIELD = [
  LINK_RX_BYTES, LINK_RX_PACKETS, LINK_RX_ERRORS, LINK_RX_DROPPED, -1, -1, -1, LINK_MULTICAST,
  LINK_TX_BYTES, LINK_TX_PACKETS, LINK_TX_ERRORS, LINK_TX_DROPPED, -1, -1, -1, -1,
];

const COLON = 0x3a;
const NAME_CACHE_LIMIT = 512;

export class ProcNetDevLinkStats implements LinkStatsSource {
  readonly status: SourceStatus;
  private readonly file: ProcFile;
  private readonly nameBytes: Buffer[] = [];
  private readonly nameStrings: string[] = [];

  constructor(root = '/', reason = '') {
    this.file = new ProcFile(join(root, 'proc/net/dev'), 8192);
    this.status = { backend: 'procfs', detail: `/proc/net/dev${reason ? ` — ${reason}` : ''}` };
  }

  read(sink: LinkCounterSink, done: ReadDone): void {
    if (!this.file.read()) {
      done(new Error(`${this.file.path} unreadable`));
      return;
    }
    const buf = this.file.data;
    const end = this.file.length;
    // Two header lines.
    let pos = nextLine(buf, nextLine(buf, 0, end), end);
    while (pos < end) {
      const nameStart = skipBlanks(buf, pos, end);
      const nameEnd = tokenEnd(buf, nameStart, end, COLON);
      const slot = sink.slotOfName(this.nameAt(buf, nameStart, nameEnd));
      pos = nameEnd + 1;
      if (slot >= 0) {
        const base = slot * LINK_FIELDS;
        for (let column = 0; column < COLUMN_TO_FIELD.length; column++) {
          pos = skipBlanks(buf, pos, end);
          const stop = tokenEnd(buf, pos, end);
          const field = COLUMN_TO_FIELD[column]!;
          if (field >= 0) sink.values[base + field] = parseUnsigned(buf, pos, stop, 10);
          pos = stop;
        }
        sink.markRead(slot);
      }
      pos = nextLine(buf, pos, end);
    }
    done(null);
  }

  close(): void {
    this.file.close();
  }

  /** The interface name at [start, end) as a cached string. */
  private nameAt(buf: Buffer, start: number, end: number): string {
    const length = end - start;
    for (let i = 0; i < this.nameBytes.length; i++) {
      const known = this.nameBytes[i]!;
      if (known.length === length && buf.compare(known, 0, length, start, end) === 0) return this.nameStrings[i]!;
    }
    // Interfaces come and go (USB NICs, VPN tunnels): bound the cache, rebuild when full.
    if (this.nameBytes.length >= NAME_CACHE_LIMIT) {
      this.nameBytes.length = 0;
      this.nameStrings.length = 0;
    }
    const name = buf.toString('utf8', start, end);
    this.nameBytes.push(Buffer.from(name));
    this.nameStrings.push(name);
    return name;
  }
}
