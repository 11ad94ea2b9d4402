import { describe, expect, it } from 'vitest';
import { dumpIpv6Neighbours } from '../../../hal/linux/neighbourDump.ts';
import { AF_INET6, NDA_DST, RTM_GETNEIGH } from '../../../hal/netlink/constants.ts';
import {
  NDA_LLADDR,
  NETLINK_ROUTE,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_NEWNEIGH,
} from '../../../hal/netlink/constants.ts';
import { mockTransportFactory } from '../../../hal/netlink/mockTransport.ts';

function attr(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc((4 + payload.length + 3) & ~3);
  out.writeUInt16LE(4 + payload.length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

function message(type: number, seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + payload.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(NLM_F_MULTI, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, payload]);
}

/** RTM_NEWNEIGH as the kernel sends it: ndmsg, NDA_DST, NDA_LLADDR (absent for an incomplete entry). */
function neighbour(seq: number, ifindex: number, address: string, mac: string | null): Buffer {
  const ndmsg = Buffer.alloc(12);
  ndmsg[0] = AF_INET6;
  ndmsg.writeInt32LE(ifindex, 4);
  ndmsg.writeUInt16LE(mac === null ? 0x01 : 0x02, 8); // NUD_INCOMPLETE / NUD_REACHABLE
  const attrs = [attr(NDA_DST, Buffer.from(address, 'hex'))];
  if (mac !== null) attrs.push(attr(NDA_LLADDR, Buffer.from(mac.replaceAll(':', ''), 'hex')));
  return message(RTM_NEWNEIGH, seq, Buffer.concat([ndmsg, ...attrs]));
}

const FE80_1 = 'fe800000000000000000000000000001';
const FD00_20 = 'fd000000000000000000000000000020';

describe('dumpIpv6Neighbours', () => {
  it('sends one RTM_GETNEIGH dump for AF_INET6 and collects entries with a MAC until NLMSG_DONE', async () => {
    const factory = mockTransportFactory();
    const dump = dumpIpv6Neighbours(factory);
    const transport = factory.created[0]!;
    expect(transport.protocol).toBe(NETLINK_ROUTE);
    const request = transport.sent[0]!;
    expect(request.length).toBe(28);
    expect(request.readUInt16LE(4)).toBe(RTM_GETNEIGH);
    expect(request.readUInt16LE(6)).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    expect(request[16]).toBe(AF_INET6);
    const seq = transport.lastSeq();
    transport.deliver(Buffer.concat([
      neighbour(seq, 5, FE80_1, 'aa:bb:cc:00:00:01'),
      neighbour(seq, 5, FD00_20, null),
      neighbour(seq + 1, 5, FD00_20, 'aa:bb:cc:00:00:99'), // not our dump
    ]));
    transport.deliver(Buffer.concat([neighbour(seq, 9, FD00_20, 'aa:bb:cc:00:02:20'), message(NLMSG_DONE, seq, Buffer.alloc(4))]));
    expect(await dump).toEqual([
      { address: FE80_1, mac: 'aa:bb:cc:00:00:01', ifindex: 5 },
      { address: FD00_20, mac: 'aa:bb:cc:00:02:20', ifindex: 9 },
    ]);
    expect(transport.closed).toBe(true);
  });

  it('rejects with the errno the kernel answers, and on a socket error', async () => {
    const factory = mockTransportFactory();
    const dump = dumpIpv6Neighbours(factory);
    const transport = factory.created[0]!;
    const error = Buffer.alloc(4 + 16);
    error.writeInt32LE(-1, 0); // EPERM
    transport.deliver(message(NLMSG_ERROR, transport.lastSeq(), error));
    await expect(dump).rejects.toMatchObject({ code: 'EPERM' });
    expect(transport.closed).toBe(true);

    const second = dumpIpv6Neighbours(factory);
    factory.created[1]!.fail('ENOBUFS');
    await expect(second).rejects.toMatchObject({ code: 'ENOBUFS' });
  });

  it('gives up after the time-out', async () => {
    await expect(dumpIpv6Neighbours(mockTransportFactory(), 20)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});
