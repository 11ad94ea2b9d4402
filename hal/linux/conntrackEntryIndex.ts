/**
 * Every conntrack entry a host table counts, and how it counts it: open addressing over typed
 * arrays keyed by (CTA_ID, original ports, host row), 13 bytes a slot, nothing allocated per
 * entry. It is what keeps a table exact between dumps:
 *
 * - DESTROY subtracts what the entry was counted as, not what the event says: an entry counted
 *   as SYN_SENT and unreplied at NEW leaves from TIME_WAIT with a reply seen, and subtracting
 *   that would drive fields negative.
 * - UPDATE moves an entry between fields (ESTABLISHED → TIME_WAIT, unreplied → replied).
 * - A dump becomes an idempotent pass: an entry already known (from an event that raced the
 *   dump) is not counted twice. Each pass marks what it saw; at the end of a clean dump the
 *   entries nobody marked (their DESTROY was lost) are swept out. So a resync corrects the live
 *   table in place, and readers never see it emptied or half filled.
 *
 * CTA_ID is the kernel's 32-bit hash of the entry (nf_ct_get_id: siphash of the conntrack's
 * address and tuple), stable for the entry's life and the same in dumps and events (seen in
 * test/fixtures/netlink/ct-*.hex). 32 bits alone would collide about once in 2^32/n at n
 * entries (a few pairs in a 250 k table), hence the ports and the host row in the key.
 *
 * Slots grow (doubling, rehash) while the load passes 3/4, up to maxEntries; past that,
 * entries are refused (`refused`) and left uncounted until a later dump finds room.
 */
import type { ConntrackHostTable } from '../index.ts';
import type { ConntrackEntryReader } from './conntrackEntry.ts';

/** The low five bits of a slot's kind byte are the HOST_KIND_*; this bit is the sweep mark. */
const MARK = 0x80;
const KIND_MASK = 0x1f;

/** Default bound: four times the largest default nf_conntrack_max (262,144 on ≥ 4 GB RAM). */
export const DEFAULT_MAX_ENTRIES = 1 << 20;

export class EntryIndex {
  /** Entries held. */
  size = 0;
  /** Entries refused because the index was at maxEntries (cumulative). */
  refused = 0;
  readonly maxEntries: number;
  private mask: number;
  private ids: Int32Array;
  private ports: Int32Array;
  /** Host row per slot; -1 = empty. */
  private rows: Int32Array;
  private kinds: Uint8Array;
  private mark = 0;
  private passOpen = false;

  constructor(initialEntries = 4096, maxEntries: number = DEFAULT_MAX_ENTRIES) {
    this.maxEntries = maxEntries;
    let slots = 16;
    while (slots * 0.75 < initialEntries) slots *= 2;
    this.mask = slots - 1;
    this.ids = new Int32Array(slots);
    this.ports = new Int32Array(slots);
    this.rows = new Int32Array(slots).fill(-1);
    this.kinds = new Uint8Array(slots);
  }

  /** Slots allocated now (for status and tests). */
  get slots(): number {
    return this.mask + 1;
  }

  clear(): void {
    this.rows.fill(-1);
    this.size = 0;
    this.mark = 0;
    this.passOpen = false;
  }

  /**
   * Counts the entry `reader` is on into `table`, or moves it to the fields it has now when it
   * is already counted. Returns 1 when it was added, 0 when it was known, -1 when it could not
   * be counted (no host row left, or the index is full).
   */
  upsert(table: ConntrackHostTable, reader: ConntrackEntryReader): number {
    let row = table.rowOf(reader.buf, reader.srcOffset, reader.ipv6, false);
    if (row >= 0) {
      const slot = this.find(reader.id, reader.portsKey, row);
      if (slot >= 0) {
        const old = this.kinds[slot]! & KIND_MASK;
        const kind = reader.kind(old & 0x7);
        this.kinds[slot] = kind | this.mark;
        if (kind !== old) {
          // Add before subtracting: the host's HOST_ENTRIES never touches 0 on the way, so its
          // row (which this slot names) is not released and handed to another host.
          table.count(row, kind, 1);
          table.count(row, old, -1);
        }
        return 0;
      }
    }
    if (!this.makeRoom()) {
      this.refused++;
      return -1;
    }
    if (row < 0) {
      row = table.rowOf(reader.buf, reader.srcOffset, reader.ipv6, true);
      if (row < 0) return -1;
    }
    const kind = reader.kind();
    this.insert(reader.id, reader.portsKey, row, kind | this.mark);
    table.count(row, kind, 1);
    return 1;
  }

  /** Uncounts the entry `reader` is on; false when it was not counted. */
  remove(table: ConntrackHostTable, reader: ConntrackEntryReader): boolean {
    const row = table.rowOf(reader.buf, reader.srcOffset, reader.ipv6, false);
    if (row < 0) return false;
    const slot = this.find(reader.id, reader.portsKey, row);
    if (slot < 0) return false;
    const kind = this.kinds[slot]! & KIND_MASK;
    this.removeAt(slot);
    table.count(row, kind, -1);
    return true;
  }

  /**
   * Starts a dump pass: from now on upserts mark with a new mark. After a pass that ended
   * without a sweep (failed or interrupted dump) the mark stays: what that pass saw counts as
   * seen, which keeps an entry only if it was alive during one of the last two passes.
   */
  beginPass(): void {
    if (this.passOpen) return;
    this.mark ^= MARK;
    this.passOpen = true;
  }

  /**
   * Ends a clean pass: uncounts and drops every entry the pass neither saw nor heard about.
   * Returns how many. Only after a complete, uninterrupted dump: a partial one would drop live
   * entries it never reached.
   */
  sweep(table: ConntrackHostTable): number {
    const rows = this.rows;
    const kinds = this.kinds;
    const mark = this.mark;
    let swept = 0;
    for (let slot = 0; slot <= this.mask; ) {
      const row = rows[slot]!;
      if (row >= 0 && (kinds[slot]! & MARK) !== mark) {
        const kind = kinds[slot]! & KIND_MASK;
        // removeAt shifts the next entry of the cluster into this slot: look at it again.
        this.removeAt(slot);
        table.count(row, kind, -1);
        swept++;
      } else {
        slot++;
      }
    }
    this.passOpen = false;
    return swept;
  }

  private hash(id: number, ports: number, row: number): number {
    let h = id ^ Math.imul(ports, 0x9e3779b1) ^ Math.imul(row, 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    return (h ^ (h >>> 12)) & this.mask;
  }

  private find(id: number, ports: number, row: number): number {
    const rows = this.rows;
    let slot = this.hash(id, ports, row);
    for (;;) {
      const r = rows[slot]!;
      if (r < 0) return -1;
      if (r === row && this.ids[slot] === id && this.ports[slot] === ports) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private insert(id: number, ports: number, row: number, kindAndMark: number): void {
    const rows = this.rows;
    let slot = this.hash(id, ports, row);
    while (rows[slot]! >= 0) slot = (slot + 1) & this.mask;
    rows[slot] = row;
    this.ids[slot] = id;
    this.ports[slot] = ports;
    this.kinds[slot] = kindAndMark;
    this.size++;
  }

  /** Grows when one more entry would pass 3/4 load; false when at maxEntries. */
  private makeRoom(): boolean {
    if (this.size >= this.maxEntries) return false;
    const slots = this.mask + 1;
    if ((this.size + 1) * 4 <= slots * 3) return true;
    this.rehash(slots * 2);
    return true;
  }

  /** A one-off allocation while the table grows; never in steady state. */
  private rehash(slots: number): void {
    const { ids, ports, rows, kinds } = this;
    const old = this.mask + 1;
    this.mask = slots - 1;
    this.ids = new Int32Array(slots);
    this.ports = new Int32Array(slots);
    this.rows = new Int32Array(slots).fill(-1);
    this.kinds = new Uint8Array(slots);
    this.size = 0;
    for (let s = 0; s < old; s++) if (rows[s]! >= 0) this.insert(ids[s]!, ports[s]!, rows[s]!, kinds[s]!);
  }

  /** Empties a slot and shifts the rest of its probe cluster back (no tombstones). */
  private removeAt(slot: number): void {
    const rows = this.rows;
    const mask = this.mask;
    let hole = slot;
    rows[hole] = -1;
    this.size--;
    let next = (hole + 1) & mask;
    for (;;) {
      const row = rows[next]!;
      if (row < 0) return;
      const home = this.hash(this.ids[next]!, this.ports[next]!, row);
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        rows[hole] = row;
        this.ids[hole] = this.ids[next]!;
        this.ports[hole] = this.ports[next]!;
        this.kinds[hole] = this.kinds[next]!;
        rows[next] = -1;
        hole = next;
      }
      next = (next + 1) & mask;
    }
  }
}
