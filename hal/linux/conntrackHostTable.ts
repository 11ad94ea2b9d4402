/**
 * The per-host conntrack table (ConntrackHostTable in hal/index.ts): open addressing over typed
 * arrays, keyed by 16-byte addresses, nothing allocated per entry or per host.
 *
 * Layout:
 * - rows: one per host, numbered 0..capacity-1; its address as four int32 words (IPv4 as the
 *   mapped ::ffff:a.b.c.d, so both families share one key space), its hash, its slot, and
 *   HOST_FIELDS int32 counts. A row keeps its number while the host holds entries, because the
 *   event source's entry index refers to rows by number; freed rows go on a stack for reuse.
 * - slots: a power-of-two hash array of row numbers, at least twice the capacity, so a full
 *   table is at most half loaded and linear probing stays short. Removal shifts the following
 *   cluster back (no tombstones), so a table that churns through IPv6 privacy addresses for
 *   days probes as fast as a fresh one.
 *
 * Words are int32 (not uint32) on purpose: an address word of 2^31 or more read back from a
 * Uint32Array is a heap number in code V8 has not optimised; int32 values stay small integers.
 */
import type { ConntrackHostCounts, ConntrackHostTable } from '../index.ts';
import {
  HOST_ENTRIES,
  HOST_FIELDS,
  HOST_KIND_FIELD_MASK,
  HOST_KIND_SNAT,
  HOST_KIND_UNREPLIED,
  HOST_SNAT,
  HOST_UNREPLIED,
} from '../index.ts';
import { parseAddress } from '../addressKey.ts';

/** Default bound: more hosts than any home LAN has, IPv6 privacy addresses included. */
export const DEFAULT_HOST_CAPACITY = 65_536;
/** The third word of an IPv4-mapped IPv6 address (::ffff:0:0/96). */
const MAPPED_WORD = 0xffff;

/** murmur3's finaliser: spreads every input bit over the word. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  return fmix(w3 ^ fmix(w2 ^ fmix(w1 ^ fmix(w0))));
}

/** hashWords(0, 0, MAPPED_WORD, w3) without recomputing the constant part: most entries are IPv4. */
const MAPPED_PREFIX_HASH = fmix(0xffff ^ fmix(0 ^ fmix(0)));

/** Big-endian int32 from byte loads (Buffer.readInt32BE is not inlined everywhere). */
function be32(buf: Uint8Array, o: number): number {
  return (buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!;
}

export class HostTable implements ConntrackHostTable {
  readonly capacity: number;
  readonly counts: Int32Array;
  readonly totals = new Float64Array(HOST_FIELDS);
  size = 0;
  overflow = 0;
  dumps = 0;

  private readonly mask: number;
  /** Row number per hash slot, -1 = empty. */
  private readonly slotRow: Int32Array;
  /** Per row: address words, hash, slot (-1 = row free). */
  private readonly rowAddr: Int32Array;
  private readonly rowHash: Int32Array;
  private readonly rowSlot: Int32Array;
  /** Freed rows, reused before rows never used. */
  private readonly freeRows: Int32Array;
  private freeTop = 0;
  /** Rows [0, highWater) have been used since the last clear(). */
  private highWater = 0;
  /** Scratch for rowOfAddress (text → bytes), allocated once. */
  private readonly scratch = Buffer.alloc(16);

  constructor(capacity: number = DEFAULT_HOST_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) {
      throw new RangeError(`host table capacity must be 1..${1 << 24}, got ${capacity}`);
    }
    this.capacity = capacity;
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.slotRow = new Int32Array(slots).fill(-1);
    this.rowAddr = new Int32Array(capacity * 4);
    this.rowHash = new Int32Array(capacity);
    this.rowSlot = new Int32Array(capacity).fill(-1);
    this.freeRows = new Int32Array(capacity);
    this.counts = new Int32Array(capacity * HOST_FIELDS);
  }

  nextRow(row: number): number {
    const end = this.highWater;
    for (let r = row + 1; r < end; r++) if (this.rowSlot[r]! >= 0) return r;
    return -1;
  }

  isIPv4(row: number): boolean {
    const a = this.rowAddr;
    const o = row * 4;
    return a[o] === 0 && a[o + 1] === 0 && a[o + 2] === MAPPED_WORD;
  }

  addressOf(row: number): string {
    if (row < 0 || row >= this.highWater || this.rowSlot[row]! < 0) return '';
    const a = this.rowAddr;
    const o = row * 4;
    if (this.isIPv4(row)) {
      const w = a[o + 3]!;
      return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
    }
    return formatIPv6(a[o]!, a[o + 1]!, a[o + 2]!, a[o + 3]!);
  }

  rowOfAddress(address: string): number {
    const length = parseAddress(address, this.scratch);
    if (length === 0) return -1;
    return this.rowOf(this.scratch, 0, length === 16, false);
  }

  topRows(field: number, out: Int32Array): number {
    const counts = this.counts;
    const limit = out.length;
    let n = 0;
    if (limit === 0) return 0;
    for (let r = this.nextRow(-1); r >= 0; r = this.nextRow(r)) {
      const v = counts[r * HOST_FIELDS + field]!;
      if (v <= 0) continue;
      if (n === limit && v <= counts[out[n - 1]! * HOST_FIELDS + field]!) continue;
      // Insertion from the end; strict > keeps earlier rows first among equals.
      let i = n < limit ? n++ : n - 1;
      while (i > 0 && counts[out[i - 1]! * HOST_FIELDS + field]! < v) {
        out[i] = out[i - 1]!;
        i--;
      }
      out[i] = r;
    }
    return n;
  }

  rowOf(buf: Uint8Array, offset: number, ipv6: boolean, create: boolean): number {
    let w0 = 0;
    let w1 = 0;
    let w2 = MAPPED_WORD;
    let w3: number;
    if (ipv6) {
      w0 = be32(buf, offset);
      w1 = be32(buf, offset + 4);
      w2 = be32(buf, offset + 8);
      w3 = be32(buf, offset + 12);
    } else {
      w3 = be32(buf, offset);
    }
    const hash = ipv6 ? hashWords(w0, w1, w2, w3) : fmix(w3 ^ MAPPED_PREFIX_HASH);
    const mask = this.mask;
    const slotRow = this.slotRow;
    const addr = this.rowAddr;
    let slot = hash & mask;
    for (;;) {
      const r = slotRow[slot]!;
      if (r < 0) break;
      const o = r * 4;
      if (addr[o + 3] === w3 && addr[o + 2] === w2 && addr[o + 1] === w1 && addr[o] === w0) return r;
      slot = (slot + 1) & mask;
    }
    if (!create) return -1;
    let row: number;
    if (this.freeTop > 0) row = this.freeRows[--this.freeTop]!;
    else if (this.highWater < this.capacity) row = this.highWater++;
    else {
      this.overflow++;
      return -1;
    }
    const o = row * 4;
    addr[o] = w0;
    addr[o + 1] = w1;
    addr[o + 2] = w2;
    addr[o + 3] = w3;
    this.rowHash[row] = hash;
    this.rowSlot[row] = slot;
    slotRow[slot] = row;
    this.size++;
    return row;
  }

  count(row: number, kind: number, delta: number): void {
    const counts = this.counts;
    const totals = this.totals;
    const base = row * HOST_FIELDS;
    const field = kind & HOST_KIND_FIELD_MASK;
    counts[base + HOST_ENTRIES]! += delta;
    totals[HOST_ENTRIES]! += delta;
    counts[base + field]! += delta;
    totals[field]! += delta;
    if ((kind & HOST_KIND_UNREPLIED) !== 0) {
      counts[base + HOST_UNREPLIED]! += delta;
      totals[HOST_UNREPLIED]! += delta;
    }
    if ((kind & HOST_KIND_SNAT) !== 0) {
      counts[base + HOST_SNAT]! += delta;
      totals[HOST_SNAT]! += delta;
    }
    if (counts[base + HOST_ENTRIES]! <= 0) this.release(row);
  }

  clear(): void {
    this.slotRow.fill(-1);
    this.counts.fill(0, 0, this.highWater * HOST_FIELDS);
    this.rowSlot.fill(-1, 0, this.highWater);
    this.totals.fill(0);
    this.freeTop = 0;
    this.highWater = 0;
    this.size = 0;
    this.overflow = 0;
    this.dumps = 0;
  }

  copyFrom(other: ConntrackHostTable): void {
    if (!(other instanceof HostTable) || other.capacity !== this.capacity) {
      throw new TypeError('HostTable.copyFrom: needs a HostTable of the same capacity');
    }
    if (other === this) return;
    const used = other.highWater;
    const stale = Math.max(this.highWater, used);
    this.slotRow.set(other.slotRow);
    this.rowAddr.set(other.rowAddr.subarray(0, used * 4));
    this.rowHash.set(other.rowHash.subarray(0, used));
    this.rowSlot.set(other.rowSlot.subarray(0, used));
    this.rowSlot.fill(-1, used, stale);
    this.counts.set(other.counts.subarray(0, used * HOST_FIELDS));
    this.counts.fill(0, used * HOST_FIELDS, stale * HOST_FIELDS);
    this.freeRows.set(other.freeRows.subarray(0, other.freeTop));
    this.totals.set(other.totals);
    this.freeTop = other.freeTop;
    this.highWater = used;
    this.size = other.size;
    this.overflow = other.overflow;
    // `dumps` stays: it is this table's history, not part of the contents.
  }

  noteDump(): void {
    this.dumps++;
  }

  /** Forgets the uncounted entries; sources call it when a full dump starts. */
  resetOverflow(): void {
    this.overflow = 0;
  }

  /** Removes a host whose last entry went; shifts its probe cluster back over the hole. */
  private release(row: number): void {
    const counts = this.counts;
    const totals = this.totals;
    const base = row * HOST_FIELDS;
    // A row removed with counts left (a source subtracting more than it added) must not leave
    // them in the totals, or the totals would stop being the sum of the rows.
    for (let f = 0; f < HOST_FIELDS; f++) {
      totals[f]! -= counts[base + f]!;
      counts[base + f] = 0;
    }
    const slotRow = this.slotRow;
    const rowSlot = this.rowSlot;
    const mask = this.mask;
    let hole = rowSlot[row]!;
    slotRow[hole] = -1;
    rowSlot[row] = -1;
    this.freeRows[this.freeTop++] = row;
    this.size--;
    let next = (hole + 1) & mask;
    for (;;) {
      const r = slotRow[next]!;
      if (r < 0) return;
      const home = this.rowHash[r]! & mask;
      // r may move into the hole unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        slotRow[hole] = r;
        rowSlot[r] = hole;
        slotRow[next] = -1;
        hole = next;
      }
      next = (next + 1) & mask;
    }
  }
}

/** RFC 5952 text: lower-case hex, the longest run (≥ 2) of zero groups as "::". */
function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestAt < 0) return groups.map(hex).join(':');
  return `${groups.slice(0, bestAt).map(hex).join(':')}::${groups.slice(bestAt + bestLen).map(hex).join(':')}`;
}

export function emptyConntrackHostCounts(): ConntrackHostCounts {
  return {
    dumps: 0,
    dumpFailures: 0,
    dumpsInterrupted: 0,
    lastDumpEntries: 0,
    lastDumpMs: NaN,
    lastDumpAt: NaN,
    newEntries: 0,
    newPerSecond: 0,
    updates: 0,
    destroys: 0,
    lost: 0,
    resyncs: 0,
    malformed: 0,
  };
}
