/**
 * The box's own addresses, kept as text (to leave them out of the ranking) and as the host table
 * keys them (4 or 16 bytes, network order), so the tick can look their rows up without building a
 * string. Their entries (the agent's MQTT connection, an ssh session) are the box's own: never a
 * LAN host's and, on a bridge, never a flow it forwards.
 */
import { parseAddress } from '../../hal/addressKey.ts';
import { HOST_ENTRIES, HOST_FIELDS, type ConntrackHostTable } from '../../hal/index.ts';

export class OwnAddresses {
  /** As text, for the sinks. */
  text: ReadonlySet<string> = new Set();
  /** 16 bytes per address (IPv4 in the first 4). */
  private bytes = new Uint8Array(0);
  private ipv6 = new Uint8Array(0);
  private count = 0;

  /** Off the tick path (allocates). */
  set(addresses: Iterable<string>): void {
    const text = new Set(addresses);
    const bytes = new Uint8Array(16 * text.size);
    const ipv6 = new Uint8Array(text.size);
    let n = 0;
    for (const address of text) {
      const length = parseAddress(address, bytes.subarray(16 * n, 16 * n + 16));
      if (length === 0) continue;
      ipv6[n++] = length === 16 ? 1 : 0;
    }
    this.text = text;
    this.bytes = bytes;
    this.ipv6 = ipv6;
    this.count = n;
  }

  /** Entries whose original source is one of the addresses, now. Every tick: allocation-free. */
  entries(table: ConntrackHostTable): number {
    let sum = 0;
    for (let i = 0; i < this.count; i++) {
      // A lookup (create false) writes nothing.
      const row = table.rowOf(this.bytes, 16 * i, this.ipv6[i] === 1, false);
      if (row >= 0) sum += table.counts[row * HOST_FIELDS + HOST_ENTRIES]!;
    }
    return sum;
  }
}
