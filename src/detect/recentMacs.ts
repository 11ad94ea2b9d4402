/**
 * Per port, the last few MACs seen flapping through it and when, for the loop report ("which
 * hosts bounce"). Fixed size: a new MAC replaces the one that flapped longest ago.
 */
import { formatMac } from './mac.ts';

export class RecentMacs {
  /** MAC halves (mac.ts); oui -1 = empty slot. */
  private readonly ouis: Int32Array;
  private readonly nics: Int32Array;
  private readonly at: Float64Array;

  constructor(
    ports: number,
    private readonly perPort: number,
  ) {
    this.ouis = new Int32Array(ports * perPort).fill(-1);
    this.nics = new Int32Array(ports * perPort);
    this.at = new Float64Array(ports * perPort).fill(-Infinity);
  }

  /** Notes the MAC flapping through `port` at `monoMs`; allocation-free. */
  note(port: number, oui: number, nic: number, monoMs: number): void {
    const base = port * this.perPort;
    let slot = base;
    for (let i = base; i < base + this.perPort; i++) {
      if (this.ouis[i] === oui && this.nics[i] === nic) {
        slot = i;
        break;
      }
      // Otherwise the slot that flapped longest ago (empty ones are -Infinity) makes room.
      if (this.at[i]! < this.at[slot]!) slot = i;
    }
    this.ouis[slot] = oui;
    this.nics[slot] = nic;
    this.at[slot] = monoMs;
  }

  /** The port's MACs noted after `since`, newest first. Allocates: reports only. */
  list(port: number, since: number): string[] {
    const found: { mac: string; at: number }[] = [];
    for (let i = port * this.perPort; i < (port + 1) * this.perPort; i++) {
      if (this.ouis[i]! >= 0 && this.at[i]! > since) found.push({ mac: formatMac(this.ouis[i]!, this.nics[i]!), at: this.at[i]! });
    }
    return found.sort((a, b) => b.at - a.at || (a.mac < b.mac ? -1 : 1)).map((f) => f.mac);
  }

  clear(port: number): void {
    this.ouis.fill(-1, port * this.perPort, (port + 1) * this.perPort);
    this.at.fill(-Infinity, port * this.perPort, (port + 1) * this.perPort);
  }
}
