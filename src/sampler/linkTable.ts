/**
 * Per-interface rows: the kernel counters of the current and previous read, and each
 * interface's rate history. Implements the HAL's LinkCounterSink.
 *
 * Rows are keyed by interface name, not ifindex: a USB NIC pulled and plugged back gets
 * a new ifindex but is the same port to the person looking at its graph, so its history
 * continues; the ifindex change marks the counters as a new baseline (no rate for that
 * one sample). Rows of vanished interfaces are kept until a new name needs the room, so
 * memory is bounded by `capacity` however many interfaces come and go.
 */
import type { LinkCounterSink, LinkEvent, LinkInfo } from '../../hal/index.ts';
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
} from '../../hal/index.ts';
import { counterDelta } from './counterDelta.ts';
import { SeriesBlock } from './ring.ts';

// Series kept per interface, all per second.
export const IF_RX_PPS = 0;
export const IF_TX_PPS = 1;
/** Bytes (not bits) per second. */
export const IF_RX_BPS = 2;
export const IF_TX_BPS = 3;
export const IF_MULTICAST_PPS = 4;
/** rx + tx errors. */
export const IF_ERRORS_PS = 5;
/** rx + tx drops. */
export const IF_DROPS_PS = 6;
export const IF_SERIES = 7;

export interface LinkRow {
  readonly slot: number;
  name: string;
  /** Current ifindex, 0 while the interface is absent. */
  index: number;
  info: LinkInfo | null;
  present: boolean;
  /** Monotonic ms when it vanished; rows vanished longest are reused first. */
  vanishedAt: number;
  readonly history: SeriesBlock;
}

export class LinkTable implements LinkCounterSink {
  readonly values: Float64Array;
  private readonly previous: Float64Array;
  /** 1 when the row was written by the read in progress. */
  private readonly readNow: Uint8Array;
  /** 1 when `previous` holds a read of the same device, so a delta means something. */
  private readonly baseline: Uint8Array;
  private readonly rowsBySlot: (LinkRow | null)[];
  private readonly slotByIndex = new Map<number, number>();
  private readonly slotByName = new Map<string, number>();
  private used = 0;

  constructor(
    readonly capacity: number,
    readonly historyCapacity: number,
    private readonly now: () => number,
  ) {
    this.values = new Float64Array(capacity * LINK_FIELDS);
    this.previous = new Float64Array(capacity * LINK_FIELDS);
    this.readNow = new Uint8Array(capacity);
    this.baseline = new Uint8Array(capacity);
    this.rowsBySlot = new Array<LinkRow | null>(capacity).fill(null);
  }

  slotOfIndex(ifindex: number): number {
    const slot = this.slotByIndex.get(ifindex);
    return slot === undefined ? -1 : slot;
  }

  slotOfName(name: string): number {
    const slot = this.slotByName.get(name);
    return slot === undefined ? -1 : slot;
  }

  markRead(slot: number): void {
    this.readNow[slot] = 1;
  }

  /**
   * True when `values` of this slot hold a committed read of the device now in the row.
   * A fresh row is all zeros and a replugged one holds the old device's counters: neither
   * may be reported as the kernel's counters (a scrape would see a false reset).
   */
  hasCounters(slot: number): boolean {
    return this.baseline[slot] === 1;
  }

  /** Rows in slot order, present or not. */
  *rows(): IterableIterator<LinkRow> {
    for (let slot = 0; slot < this.used; slot++) {
      const row = this.rowsBySlot[slot];
      if (row) yield row;
    }
  }

  row(name: string): LinkRow | null {
    const slot = this.slotByName.get(name);
    return slot === undefined ? null : this.rowsBySlot[slot]!;
  }

  beginRead(): void {
    this.readNow.fill(0, 0, this.used);
  }

  /**
   * Turns this read's counters into rates at history index `at`, over `seconds` since the
   * previous read. Rows not read this time (absent, or the read failed) get NaN.
   */
  commit(at: number, seconds: number): void {
    const values = this.values;
    const previous = this.previous;
    for (let slot = 0; slot < this.used; slot++) {
      const row = this.rowsBySlot[slot];
      if (!row) continue;
      const history = row.history;
      if (this.readNow[slot] === 1 && this.baseline[slot] === 1 && seconds > 0) {
        const base = slot * LINK_FIELDS;
        history.set(IF_RX_PPS, at, rate(previous, values, base + LINK_RX_PACKETS, seconds));
        history.set(IF_TX_PPS, at, rate(previous, values, base + LINK_TX_PACKETS, seconds));
        history.set(IF_RX_BPS, at, rate(previous, values, base + LINK_RX_BYTES, seconds));
        history.set(IF_TX_BPS, at, rate(previous, values, base + LINK_TX_BYTES, seconds));
        history.set(IF_MULTICAST_PPS, at, rate(previous, values, base + LINK_MULTICAST, seconds));
        history.set(
          IF_ERRORS_PS,
          at,
          rate(previous, values, base + LINK_RX_ERRORS, seconds) + rate(previous, values, base + LINK_TX_ERRORS, seconds),
        );
        history.set(
          IF_DROPS_PS,
          at,
          rate(previous, values, base + LINK_RX_DROPPED, seconds) + rate(previous, values, base + LINK_TX_DROPPED, seconds),
        );
      } else {
        for (let series = 0; series < IF_SERIES; series++) history.set(series, at, NaN);
      }
      if (this.readNow[slot] === 1) {
        for (let field = 0; field < LINK_FIELDS; field++) {
          previous[slot * LINK_FIELDS + field] = values[slot * LINK_FIELDS + field]!;
        }
        this.baseline[slot] = 1;
      } else {
        // A gap breaks the baseline: the next delta would span an unknown interval.
        this.baseline[slot] = 0;
      }
    }
  }

  /** Follows the inventory. Returns the row, or null when the table is full. */
  onLinkEvent(event: LinkEvent, link: LinkInfo): LinkRow | null {
    if (event === 'removed') {
      const slot = this.slotByIndex.get(link.index);
      if (slot === undefined) return null;
      const row = this.rowsBySlot[slot]!;
      this.slotByIndex.delete(link.index);
      row.index = 0;
      row.present = false;
      row.vanishedAt = this.now();
      this.baseline[slot] = 0;
      return row;
    }
    let slot = this.slotByName.get(link.name);
    if (slot === undefined) {
      // Same ifindex, new name: a rename (udev, `ip link set … name`). Keep the row.
      const renamed = this.slotByIndex.get(link.index);
      if (renamed !== undefined) {
        const row = this.rowsBySlot[renamed]!;
        this.slotByName.delete(row.name);
        row.name = link.name;
        this.slotByName.set(link.name, renamed);
        slot = renamed;
      }
    }
    if (slot === undefined) slot = this.allocate(link.name);
    if (slot < 0) return null;
    const row = this.rowsBySlot[slot]!;
    if (row.index !== link.index) {
      if (row.index !== 0 && this.slotByIndex.get(row.index) === slot) this.slotByIndex.delete(row.index);
      this.slotByIndex.set(link.index, slot);
      row.index = link.index;
      this.baseline[slot] = 0;
    }
    row.info = link;
    row.present = true;
    return row;
  }

  private allocate(name: string): number {
    let slot = -1;
    if (this.used < this.capacity) {
      slot = this.used++;
      this.rowsBySlot[slot] = {
        slot,
        name,
        index: 0,
        info: null,
        present: false,
        vanishedAt: 0,
        history: new SeriesBlock(IF_SERIES, this.historyCapacity),
      };
    } else {
      let oldest: LinkRow | null = null;
      for (const row of this.rowsBySlot) {
        if (row && !row.present && (!oldest || row.vanishedAt < oldest.vanishedAt)) oldest = row;
      }
      if (!oldest) return -1;
      slot = oldest.slot;
      this.slotByName.delete(oldest.name);
      oldest.name = name;
      oldest.index = 0;
      oldest.info = null;
      oldest.history.clear();
    }
    this.slotByName.set(name, slot);
    this.baseline[slot] = 0;
    return slot;
  }
}

function rate(previous: Float64Array, current: Float64Array, offset: number, seconds: number): number {
  return counterDelta(previous[offset]!, current[offset]!) / seconds;
}
