/**
 * Recent FDB moves per MAC, in fixed memory: at most `maxMacs` MACs, each with its last
 * flapMoves + 1 moves (time, from port, to port), all in typed arrays sized at start. A flood
 * of distinct MACs (100k, or a MAC-flooding attack through a loop) evicts old entries instead
 * of growing anything.
 *
 * Layout: set-associative, as a CPU cache: a MAC hashes to one set of 8 entries; a new MAC takes
 * an empty entry of its set or evicts the one moved least recently. O(8) per move, no
 * tombstones, no list to maintain. A MAC that flaps moves often, so it stays recent; what it
 * costs is that 8 busier MACs of the same set can push a quiet one out, which only delays that
 * one's detection (LRU per set rather than over the whole table).
 */

const WAYS = 8;
const EMPTY = -1;

export class MacFlapTable {
  readonly capacity: number;
  private readonly ways: number;
  private readonly sets: number;
  /** Moves kept per MAC: one more than the moves a MAC may make in a window without flapping. */
  private readonly depth: number;
  /** MAC halves per entry (mac.ts); oui EMPTY = free entry. */
  private readonly ouis: Int32Array;
  private readonly nics: Int32Array;
  private readonly lastMove: Float64Array;
  private readonly counts: Uint16Array;
  private readonly heads: Uint16Array;
  private readonly times: Float64Array;
  private readonly froms: Int32Array;
  private readonly tos: Int32Array;
  private used = 0;

  constructor(
    maxMacs: number,
    flapMoves: number,
    private readonly windowMs: number,
  ) {
    this.ways = Math.min(WAYS, maxMacs);
    this.sets = Math.floor(maxMacs / this.ways);
    this.capacity = this.sets * this.ways;
    this.depth = flapMoves + 1;
    this.ouis = new Int32Array(this.capacity).fill(EMPTY);
    this.nics = new Int32Array(this.capacity);
    this.lastMove = new Float64Array(this.capacity);
    this.counts = new Uint16Array(this.capacity);
    this.heads = new Uint16Array(this.capacity);
    this.times = new Float64Array(this.capacity * this.depth);
    this.froms = new Int32Array(this.capacity * this.depth);
    this.tos = new Int32Array(this.capacity * this.depth);
  }

  /** MACs tracked now (≤ capacity). */
  get size(): number {
    return this.used;
  }

  /**
   * Records that the MAC (oui, nic) moved from port `from` to port `to` at `monoMs`. Returns its
   * entry when this move makes it flapping (more than flapMoves moves within windowMs), else -1.
   */
  record(oui: number, nic: number, from: number, to: number, monoMs: number): number {
    const entry = this.entryFor(oui, nic);
    this.lastMove[entry] = monoMs;
    const depth = this.depth;
    const head = this.heads[entry]!;
    const at = entry * depth + head;
    this.times[at] = monoMs;
    this.froms[at] = from;
    this.tos[at] = to;
    const next = head + 1 === depth ? 0 : head + 1;
    this.heads[entry] = next;
    if (this.counts[entry]! < depth) this.counts[entry] = this.counts[entry]! + 1;
    // Full ring: `next` now points at the oldest of the last `depth` moves.
    if (this.counts[entry] !== depth) return -1;
    return monoMs - this.times[entry * depth + next]! <= this.windowMs ? entry : -1;
  }

  /** Moves stored for an entry (all within the window when record() returned it). */
  moveCount(entry: number): number {
    return this.counts[entry]!;
  }

  moveFrom(entry: number, k: number): number {
    return this.froms[entry * this.depth + k]!;
  }

  moveTo(entry: number, k: number): number {
    return this.tos[entry * this.depth + k]!;
  }

  private entryFor(oui: number, nic: number): number {
    const base = this.setOf(oui, nic) * this.ways;
    const ouis = this.ouis;
    let victim = base;
    for (let i = base; i < base + this.ways; i++) {
      const key = ouis[i]!;
      if (key === oui && this.nics[i] === nic) return i;
      if (key === EMPTY) {
        if (ouis[victim] !== EMPTY) victim = i;
      } else if (ouis[victim] !== EMPTY && this.lastMove[i]! < this.lastMove[victim]!) {
        victim = i;
      }
    }
    if (ouis[victim] === EMPTY) this.used++;
    ouis[victim] = oui;
    this.nics[victim] = nic;
    this.counts[victim] = 0;
    this.heads[victim] = 0;
    return victim;
  }

  /** murmur3's finaliser over the two halves: spreads MACs that differ in a few bits. */
  private setOf(oui: number, nic: number): number {
    let h = Math.imul(nic ^ Math.imul(oui, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) % this.sets;
  }
}
