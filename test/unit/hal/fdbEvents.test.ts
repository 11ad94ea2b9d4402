// The bridge FDB event source against notifications captured from a real kernel
// (scripts/fixtures/capture-fdb-events.sh): learned, moved and back, local, static,
// NTF_SELF and AF_INET entries, and a learned entry deleted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetlinkFdbEvents, type FdbEventsOptions } from '../../../hal/linux/fdbEvents.ts';
import { FdbEntryReader } from '../../../hal/linux/fdbMessage.ts';
import { formatMacPair } from '../../../hal/linux/macPair.ts';
import { mockTransportFactory, type MockNetlinkTransport } from '../../../hal/netlink/mockTransport.ts';
import { MessageCursor } from '../../../hal/netlink/reader.ts';
import { attr, capturedDatagrams } from '../../helpers/netlinkFixtures.ts';

const FIXTURE = 'rtm-neigh-bridge-events';
const { ifindex } = JSON.parse(
  readFileSync(new URL(`../../fixtures/netlink/${FIXTURE}.json`, import.meta.url), 'utf8'),
) as { ifindex: Record<string, number> };
const BR0 = ifindex.br0!;
const LAN1 = ifindex.lan1!;
const LAN2 = ifindex.lan2!;
/** p1's MAC, which the capture moves lan1 → lan2 → lan1 and finally deletes. */
const HOST = '02:89:00:00:00:11';

interface Seen {
  updates: string[];
  moves: string[];
  times: number[];
}

function setup(options: FdbEventsOptions = {}): { source: NetlinkFdbEvents; transport: MockNetlinkTransport; seen: Seen } {
  const factory = mockTransportFactory();
  let clock = 1000;
  const source = new NetlinkFdbEvents(factory, { now: () => clock++, ...options });
  const seen: Seen = { updates: [], moves: [], times: [] };
  source.onUpdate((oui, nic, port, master, vlan, atMs) => {
    seen.updates.push(`${formatMacPair(oui, nic)} port ${port} master ${master} vlan ${vlan}`);
    seen.times.push(atMs);
  });
  source.onMove((oui, nic, port, fromPort, master, vlan) => {
    seen.moves.push(`${formatMacPair(oui, nic)} ${fromPort}->${port} master ${master} vlan ${vlan}`);
  });
  return { source, transport: factory.created[0]!, seen };
}

/** The captured datagrams whose one message is a learned entry of HOST, in capture order. */
function learnedDatagrams(): Buffer[] {
  const reader = new FdbEntryReader();
  const cursor = new MessageCursor();
  return capturedDatagrams(FIXTURE).filter((d) => {
    cursor.reset(d);
    return cursor.next() && cursor.type === 28 && reader.read(cursor) && reader.kind() === 'learned';
  });
}

/** A copy of a one-message datagram with NDA_VLAN appended (the dev kernel has no VLAN filtering). */
function withVlan(datagram: Buffer, vlan: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16LE(vlan);
  const out = Buffer.concat([datagram, attr(5, payload)]);
  out.writeUInt32LE(out.length, 0);
  return out;
}

/** A copy with another port ifindex and last MAC octet. */
function variant(datagram: Buffer, port: number, lastOctet: number): Buffer {
  const out = Buffer.from(datagram);
  out.writeInt32LE(port, 16 + 4); // ndm_ifindex
  // NDA_LLADDR is the first attribute after the 12-byte ndmsg: header 4 bytes, MAC at +4.
  out[16 + 12 + 4 + 5] = lastOctet;
  return out;
}

describe('NetlinkFdbEvents', () => {
  it('joins RTNLGRP_NEIGH on a NETLINK_ROUTE socket and sends nothing', () => {
    const { transport } = setup();
    expect(transport.protocol).toBe(0);
    expect(transport.options.groups).toEqual([3]);
    expect(transport.sent).toHaveLength(0);
  });

  it('reports learned entries and their moves from captured kernel notifications', () => {
    const { source, transport, seen } = setup();
    for (const datagram of capturedDatagrams(FIXTURE)) transport.deliver(datagram);
    expect(seen.updates).toEqual([
      `${HOST} port ${LAN1} master ${BR0} vlan 0`,
      `${HOST} port ${LAN2} master ${BR0} vlan 0`,
      `${HOST} port ${LAN1} master ${BR0} vlan 0`,
    ]);
    expect(seen.moves).toEqual([
      `${HOST} ${LAN1}->${LAN2} master ${BR0} vlan 0`,
      `${HOST} ${LAN2}->${LAN1} master ${BR0} vlan 0`,
    ]);
    // Skipped: bridge MAC (3x) and two port MACs (local), static add + del, NTF_SELF, AF_INET.
    expect(source.counts).toEqual({ updates: 3, moves: 2, deletes: 1, ignored: 9, lost: 0, malformed: 0 });
  });

  it('stamps each event with the monotonic clock, read once per datagram', () => {
    const { transport, seen } = setup();
    const learned = learnedDatagrams();
    transport.deliver(Buffer.concat(learned)); // three messages in one datagram
    transport.deliver(learned[0]!);
    expect(seen.times).toEqual([1000, 1000, 1000, 1001]);
  });

  it('still knows a MAC after the kernel deleted it: re-cabling to another port is one move', () => {
    const { transport, seen } = setup();
    for (const datagram of capturedDatagrams(FIXTURE)) transport.deliver(datagram);
    transport.deliver(learnedDatagrams()[1]!); // HOST learned again, now on lan2
    expect(seen.moves.at(-1)).toBe(`${HOST} ${LAN1}->${LAN2} master ${BR0} vlan 0`);
  });

  it('tracks a MAC per VLAN: the same MAC on another VLAN and port is not a move', () => {
    const { transport, seen } = setup();
    const [onLan1, onLan2] = learnedDatagrams();
    transport.deliver(withVlan(onLan1!, 10));
    transport.deliver(withVlan(onLan2!, 20));
    expect(seen.moves).toEqual([]);
    transport.deliver(withVlan(onLan2!, 10));
    expect(seen.moves).toEqual([`${HOST} ${LAN1}->${LAN2} master ${BR0} vlan 10`]);
    expect(seen.updates[1]).toBe(`${HOST} port ${LAN2} master ${BR0} vlan 20`);
  });

  it('forgets the least recently updated MAC beyond maxMacs', () => {
    const { source, transport, seen } = setup({ maxMacs: 2 });
    const [template] = learnedDatagrams();
    transport.deliver(variant(template!, 4, 0xa1));
    transport.deliver(variant(template!, 4, 0xa2));
    transport.deliver(variant(template!, 4, 0xa3)); // evicts ...:a1
    transport.deliver(variant(template!, 6, 0xa1)); // unknown again: no move; evicts ...:a2
    transport.deliver(variant(template!, 6, 0xa3));
    expect(seen.moves).toEqual([`02:89:00:00:00:a3 4->6 master ${BR0} vlan 0`]);
    expect(source.tracked).toEqual({ size: 2, evictions: 2 });
  });

  it('counts ENOBUFS as lost events, logs it once per interval, and keeps going', () => {
    const warnings: string[] = [];
    const { source, transport, seen } = setup({ log: { warn: (m) => warnings.push(m) } });
    transport.fail('ENOBUFS');
    transport.fail('ENOBUFS');
    transport.fail('ETRUNC');
    expect(source.counts.lost).toBe(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ENOBUFS');
    for (const datagram of learnedDatagrams()) transport.deliver(datagram);
    expect(seen.moves).toHaveLength(2);
  });

  it('counts a truncated or corrupt message as malformed without throwing', () => {
    const { source, transport, seen } = setup();
    const [learned] = learnedDatagrams();
    transport.deliver(learned!.subarray(0, 30)); // cut inside the ndmsg
    const badAttr = Buffer.from(learned!);
    badAttr.writeUInt16LE(200, 16 + 12); // first attribute claims 200 bytes
    transport.deliver(badAttr);
    const shortNdmsg = Buffer.from(learned!.subarray(0, 24));
    shortNdmsg.writeUInt32LE(24, 0); // 8-byte payload: shorter than struct ndmsg
    transport.deliver(shortNdmsg);
    expect(source.counts.malformed).toBe(3);
    expect(seen.updates).toEqual([]);
  });

  it('stops delivering after close() and closes the socket once', () => {
    const { source, transport, seen } = setup();
    source.close();
    source.close();
    expect(transport.closed).toBe(true);
    transport.deliver(learnedDatagrams()[0]!);
    expect(seen.updates).toEqual([]);
  });
});

describe('FdbEntryReader', () => {
  it('sorts every captured notification', () => {
    const reader = new FdbEntryReader();
    const cursor = new MessageCursor();
    const kinds: string[] = [];
    for (const datagram of capturedDatagrams(FIXTURE)) {
      cursor.reset(datagram);
      while (cursor.next()) {
        expect(reader.read(cursor)).toBe(true);
        kinds.push(`${cursor.type === 29 ? 'del' : 'new'} ${reader.kind()}`);
      }
    }
    expect(kinds).toEqual([
      'new local', 'del local', 'new local', // br0's own MAC, set explicitly at creation
      'new local', 'new local', // lan1, lan2
      'new learned', 'new learned', 'new learned', // lan1, moved to lan2, back to lan1
      'new static', 'del static',
      'new other', // NTF_SELF entry of lan1's own address list
      'new other', // ARP entry, AF_INET
      'del learned',
    ]);
  });
});
