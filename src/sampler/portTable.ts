/**
 * Per-bridge-port broadcast/multicast history: the raw counters of the current and previous
 * read (PORT_* layout, see hal/index.ts) and each port's per-second rates. Implements the
 * HAL's PortCounterSink.
 *
 * The ports are a plan (the LAN bridge's ports), set as a whole when the board's roles change,
 * not followed link by link. Rows are keyed by port name and kept across plans, so a port
 * that stays keeps its history; memory is bounded by `capacity`.
 */
import type { PortCounterSink } from '../../hal/index.ts';
import {
  PORT_ARP,
  PORT_BCAST,
  PORT_DHCP,
  PORT_FIELDS,
  PORT_MCAST,
  PORT_MDNS,
  PORT_ND,
  PORT_OWN_SOURCE,
  PORT_SSDP,
} from '../../hal/index.ts';
import { counterDelta } from './counterDelta.ts';
import { IF_MULTICAST_PPS, type LinkTable } from './linkTable.ts';
import { SeriesBlock } from './ring.ts';

// Series kept per port, all frames per second.
export const PT_BCAST_PPS = 0;
export const PT_MCAST_PPS = 1;
export const PT_ARP_PPS = 2;
export const PT_ND_PPS = 3;
export const PT_MDNS_PPS = 4;
export const PT_SSDP_PPS = 5;
export const PT_DHCP_PPS = 6;
/** Broadcast + multicast not matched by any protocol above. */
export const PT_OTHER_PPS = 7;
/** Frames with the bridge's own MAC as source: a loop's signature. */
export const PT_OWN_PS = 8;
export const PT_SERIES = 9;

// Each protocol's counter field and its series, as parallel typed arrays: the tick loop
// reads plain ints, where destructuring tuples may allocate an iterator per step.
const PROTOCOL_FIELDS = Int32Array.of(PORT_ARP, PORT_ND, PORT_MDNS, PORT_SSDP, PORT_DHCP);
const PROTOCOL_SERIES = Int32Array.of(PT_ARP_PPS, PT_ND_PPS, PT_MDNS_PPS, PT_SSDP_PPS, PT_DHCP_PPS);

export interface PortRow {
  readonly slot: number;
  name: string;
  /** In the current plan. */
  planned: boolean;
  /** What counts this port, for people; set with the plan. */
  source: string | null;
  /**
   * No port-counter source counts this port: its multicast rate comes from the interface's own
   * `multicast` counter (broadcast, protocols and own frames unknown). What that counter holds
   * depends on the driver (broadcast excluded on bcmgenet and 8021q, included on qeth, always 0
   * on veth: notes/loop-storm.md §2.1), hence the label.
   */
  fallback: boolean;
  readonly history: SeriesBlock;
}

/** The label of a port counted by the last-resort fallback. */
export const INTERFACE_MULTICAST_SOURCE = 'interface multicast counter';

export class PortTable implements PortCounterSink {
  readonly values: Float64Array;
  private readonly previous: Float64Array;
  private readonly readNow: Uint8Array;
  private readonly baseline: Uint8Array;
  private readonly rowsBySlot: (PortRow | null)[];
  private readonly slotByName = new Map<string, number>();
  private used = 0;

  constructor(
    readonly capacity: number,
    readonly historyCapacity: number,
  ) {
    this.values = new Float64Array(capacity * PORT_FIELDS);
    this.previous = new Float64Array(capacity * PORT_FIELDS);
    this.readNow = new Uint8Array(capacity);
    this.baseline = new Uint8Array(capacity);
    this.rowsBySlot = new Array<PortRow | null>(capacity).fill(null);
  }

  /**
   * Makes `names` the ports counted; `sourceOf` names what counts each one (null: nothing, so
   * the interface multicast fallback). Returns the names that got no row because the table is
   * full (rows of ports no longer planned are reused first).
   */
  setPorts(names: readonly string[], sourceOf: (name: string) => string | null = () => null): string[] {
    const wanted = new Set(names);
    for (const row of this.rows()) {
      row.planned = wanted.has(row.name);
      // A port that left the plan loses its baseline: its counters may restart when it returns.
      if (!row.planned) this.baseline[row.slot] = 0;
    }
    const refused: string[] = [];
    for (const name of wanted) {
      let slot = this.slotByName.get(name);
      if (slot === undefined) slot = this.allocate(name);
      if (slot < 0) {
        refused.push(name);
        continue;
      }
      const row = this.rowsBySlot[slot]!;
      const source = sourceOf(name);
      // A port that changes source starts a new baseline: the two count different things.
      if (row.planned && row.source !== (source ?? INTERFACE_MULTICAST_SOURCE)) this.baseline[slot] = 0;
      row.planned = true;
      row.fallback = source === null;
      row.source = source ?? INTERFACE_MULTICAST_SOURCE;
    }
    return refused;
  }

  slotOfPort(name: string): number {
    const slot = this.slotByName.get(name);
    return slot === undefined || !this.rowsBySlot[slot]!.planned ? -1 : slot;
  }

  markPortRead(slot: number): void {
    this.readNow[slot] = 1;
  }

  *rows(): IterableIterator<PortRow> {
    for (let slot = 0; slot < this.used; slot++) {
      const row = this.rowsBySlot[slot];
      if (row) yield row;
    }
  }

  /** The row in `slot`, or null. */
  rowAt(slot: number): PortRow | null {
    return slot < this.used ? this.rowsBySlot[slot]! : null;
  }

  row(name: string): PortRow | null {
    const slot = this.slotByName.get(name);
    return slot === undefined ? null : this.rowsBySlot[slot]!;
  }

  beginRead(): void {
    this.readNow.fill(0, 0, this.used);
  }

  /**
   * Rates at history index `at` over `seconds`; rows not read (or without a baseline) get NaN.
   * Fallback rows take the multicast rate the link table committed at the same index.
   */
  commit(at: number, seconds: number, links: LinkTable): void {
    const values = this.values;
    const previous = this.previous;
    for (let slot = 0; slot < this.used; slot++) {
      const row = this.rowsBySlot[slot];
      if (!row) continue;
      const history = row.history;
      if (row.fallback && row.planned) {
        for (let series = 0; series < PT_SERIES; series++) history.set(series, at, NaN);
        const link = links.row(row.name);
        if (link !== null) history.set(PT_MCAST_PPS, at, link.history.get(IF_MULTICAST_PPS, at));
        continue;
      }
      const base = slot * PORT_FIELDS;
      if (this.readNow[slot] === 1 && this.baseline[slot] === 1 && seconds > 0) {
        const bcast = counterDelta(previous[base + PORT_BCAST]!, values[base + PORT_BCAST]!) / seconds;
        const mcast = counterDelta(previous[base + PORT_MCAST]!, values[base + PORT_MCAST]!) / seconds;
        history.set(PT_BCAST_PPS, at, bcast);
        history.set(PT_MCAST_PPS, at, mcast);
        let matched = 0;
        for (let i = 0; i < PROTOCOL_FIELDS.length; i++) {
          const field = PROTOCOL_FIELDS[i]!;
          const pps = counterDelta(previous[base + field]!, values[base + field]!) / seconds;
          history.set(PROTOCOL_SERIES[i]!, at, pps);
          matched += pps;
        }
        // Counters are read in one dump but not atomically: clamp the rare negative remainder.
        history.set(PT_OTHER_PPS, at, Math.max(0, bcast + mcast - matched));
        history.set(PT_OWN_PS, at, counterDelta(previous[base + PORT_OWN_SOURCE]!, values[base + PORT_OWN_SOURCE]!) / seconds);
      } else {
        for (let series = 0; series < PT_SERIES; series++) history.set(series, at, NaN);
      }
      if (this.readNow[slot] === 1) {
        for (let field = 0; field < PORT_FIELDS; field++) previous[base + field] = values[base + field]!;
        this.baseline[slot] = 1;
      } else {
        this.baseline[slot] = 0;
      }
    }
  }

  private allocate(name: string): number {
    let slot = -1;
    if (this.used < this.capacity) {
      slot = this.used++;
      this.rowsBySlot[slot] = {
        slot,
        name,
        planned: false,
        source: null,
        fallback: false,
        history: new SeriesBlock(PT_SERIES, this.historyCapacity),
      };
    } else {
      const spare = this.rowsBySlot.find((row) => row !== null && !row.planned);
      if (!spare) return -1;
      slot = spare.slot;
      this.slotByName.delete(spare.name);
      spare.name = name;
      spare.history.clear();
    }
    this.slotByName.set(name, slot);
    this.baseline[slot] = 0;
    return slot;
  }
}
