/**
 * Where each MAC (per VLAN) was last learned: a bounded, allocation-free table for the FDB
 * event source, which needs the previous port of a MAC to tell a move from a first sighting.
 *
 * Bounded because a storm or a MAC-flooding host can announce any number of addresses;
 * when full, the least recently updated entry is evicted (its MAC, if seen again, counts
 * as new, so at worst one move goes unnoticed). Storage is typed arrays: open addressing
 * with linear probing over `buckets` (two slots per entry keeps probes short), entries in
 * a pool with a doubly-linked recency list. Nothing is allocated after construction.
 */

const EMPTY = -1;

export class MacPortTable {
  readonly maxEntries: number;
  private readonly oui: Int32Array;
  private readonly nic: Int32Array;
  private readonly vlan: Int32Array;
  private readonly port: Int32Array;
  /** Recency list: `older`/`newer` neighbours of each entry, EMPTY at the ends. */
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private oldest = EMPTY;
  private newest = EMPTY;
  private count = 0;
  private evicted = 0;

  constructor(maxEntries = 4096) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 20) {
      throw new Error(`maxEntries must be 1..${1 << 20}, got ${maxEntries}`);
    }
    this.maxEntries = maxEntries;
    this.oui = new Int32Array(maxEntries);
    this.nic = new Int32Array(maxEntries);
    this.vlan = new Int32Array(maxEntries);
    this.port = new Int32Array(maxEntries);
    this.older = new Int32Array(maxEntries);
    this.newer = new Int32Array(maxEntries);
    let buckets = 2;
    while (buckets < maxEntries * 2) buckets *= 2;
    this.buckets = new Int32Array(buckets).fill(EMPTY);
    this.mask = buckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Entries dropped to make room since construction. */
  get evictions(): number {
    return this.evicted;
  }

  /** Last port of the MAC on this VLAN, or 0 (never an ifindex) when unknown. */
  get(oui: number, nic: number, vlan: number): number {
    const b = this.find(oui, nic, vlan);
    return b === EMPTY ? 0 : this.port[this.buckets[b]!]!;
  }

  /**
   * Records `port` as the MAC's current port and marks it most recent. Returns the port it
   * had before, or 0 when the MAC was not in the table.
   */
  swap(oui: number, nic: number, vlan: number, port: number): number {
    const b = this.find(oui, nic, vlan);
    if (b !== EMPTY) {
      const e = this.buckets[b]!;
      const previous = this.port[e]!;
      this.port[e] = port;
      this.touch(e);
      return previous;
    }
    const e = this.count < this.maxEntries ? this.count++ : this.evictOldest();
    this.oui[e] = oui;
    this.nic[e] = nic;
    this.vlan[e] = vlan;
    this.port[e] = port;
    this.linkNewest(e);
    let slot = this.home(oui, nic, vlan);
    while (this.buckets[slot] !== EMPTY) slot = (slot + 1) & this.mask;
    this.buckets[slot] = e;
    return 0;
  }

  private home(oui: number, nic: number, vlan: number): number {
    let h = Math.imul(oui ^ Math.imul(nic, 0x9e3779b1) ^ Math.imul(vlan, 0x85ebca6b), 0xc2b2ae35);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Bucket holding the key, or EMPTY. */
  private find(oui: number, nic: number, vlan: number): number {
    let slot = this.home(oui, nic, vlan);
    for (;;) {
      const e = this.buckets[slot]!;
      if (e === EMPTY) return EMPTY;
      if (this.nic[e] === nic && this.oui[e] === oui && this.vlan[e] === vlan) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private evictOldest(): number {
    const e = this.oldest;
    this.unlink(e);
    this.removeBucket(this.find(this.oui[e]!, this.nic[e]!, this.vlan[e]!));
    this.evicted++;
    return e;
  }

  /** Backward-shift deletion: keeps every remaining key reachable from its home bucket. */
  private removeBucket(hole: number): void {
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & this.mask;
      const e = this.buckets[j]!;
      if (e === EMPTY) break;
      const k = this.home(this.oui[e]!, this.nic[e]!, this.vlan[e]!);
      // Move e back into the hole unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        this.buckets[i] = e;
        i = j;
      }
    }
    this.buckets[i] = EMPTY;
  }

  private touch(e: number): void {
    if (e === this.newest) return;
    this.unlink(e);
    this.linkNewest(e);
  }

  private linkNewest(e: number): void {
    this.older[e] = this.newest;
    this.newer[e] = EMPTY;
    if (this.newest !== EMPTY) this.newer[this.newest] = e;
    this.newest = e;
    if (this.oldest === EMPTY) this.oldest = e;
  }

  private unlink(e: number): void {
    const o = this.older[e]!;
    const n = this.newer[e]!;
    if (o !== EMPTY) this.newer[o] = n;
    else this.oldest = n;
    if (n !== EMPTY) this.older[n] = o;
    else this.newest = o;
  }
}
