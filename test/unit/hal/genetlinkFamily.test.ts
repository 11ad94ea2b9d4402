import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allocGetFamilyRequest, resolveGenlFamily } from '../../../hal/linux/genetlinkFamily.ts';
import { KernelSourceError } from '../../../hal/linux/errors.ts';
import { mockTransportFactory, type MockNetlinkTransport } from '../../../hal/netlink/mockTransport.ts';
import { attr, capturedDatagrams, errorMessage, withSeq } from '../../helpers/netlinkFixtures.ts';
import { familyReply, genlMessage, u32 } from '../../helpers/genlMessages.ts';

// Captured on 6.18 by scripts/fixtures/capture-ethtool.sh.
const captured = JSON.parse(readFileSync(new URL('../../fixtures/netlink/ethtool-stats-dump.json', import.meta.url), 'utf8')) as {
  familyId: number;
};

/** Starts a resolution and returns it with the mock socket it opened (after its request). */
function start(name = 'ethtool', timeoutMs?: number) {
  const factory = mockTransportFactory();
  const result = resolveGenlFamily(factory, name, timeoutMs === undefined ? {} : { timeoutMs });
  const transport: MockNetlinkTransport = factory.created[0]!;
  return { result, transport, seq: transport.lastSeq() };
}

async function rejection(promise: Promise<unknown>): Promise<KernelSourceError> {
  try {
    await promise;
  } catch (error) {
    return error as KernelSourceError;
  }
  throw new Error('resolved, expected a rejection');
}

describe('CTRL_CMD_GETFAMILY request', () => {
  it('asks the controller for the family by NUL-terminated name', () => {
    const request = allocGetFamilyRequest('ethtool');
    expect(request.readUInt32LE(0)).toBe(request.length);
    expect(request.readUInt16LE(4)).toBe(16); // GENL_ID_CTRL
    expect(request.readUInt16LE(6)).toBe(1); // NLM_F_REQUEST only: one reply, no ACK
    expect([...request.subarray(16, 20)]).toEqual([3, 1, 0, 0]); // CTRL_CMD_GETFAMILY, version 1
    expect(request.readUInt16LE(20)).toBe(12); // header 4 + "ethtool\0"
    expect(request.readUInt16LE(22)).toBe(2); // CTRL_ATTR_FAMILY_NAME
    expect(request.toString('latin1', 24, 32)).toBe('ethtool\0');
    expect(request.length).toBe(32);
  });
});

describe('resolveGenlFamily', () => {
  it("reads the 6.18 kernel's answer: id, version, and which commands dump", async () => {
    const { result, transport, seq } = start();
    expect(transport.protocol).toBe(16); // NETLINK_GENERIC
    for (const datagram of capturedDatagrams('genl-getfamily-ethtool')) transport.deliver(withSeq(datagram, seq));
    const family = await result;
    expect(family.name).toBe('ethtool');
    expect(family.id).toBe(captured.familyId);
    expect(family.version).toBe(1);
    // ETHTOOL_MSG_STATS_GET (32): DO | DUMP | HASPOL, as the kernel registered it.
    expect(family.commands.get(32)).toBe(0xe);
    expect(family.commands.get(1)! & 0x4).toBe(0x4); // STRSET_GET dumps too
    expect(transport.closed).toBe(true);
  });

  it('reads a hand-built reply and ignores messages for other requests', async () => {
    const { result, transport, seq } = start('nl80211');
    transport.deliver(familyReply(seq + 1000, { id: 99, name: 'nl80211' }));
    transport.deliver(familyReply(seq, { id: 30, name: 'nl80211', version: 1, ops: [[5, 0x2], [6, 0x6]] }));
    const family = await result;
    expect(family).toEqual({ name: 'nl80211', id: 30, version: 1, commands: new Map([[5, 0x2], [6, 0x6]]) });
  });

  it('rejects with ENOENT when the kernel has no such family', async () => {
    const { result, transport, seq } = start('nosuchfamily');
    transport.deliver(errorMessage(seq, 2));
    const error = await rejection(result);
    expect(error.code).toBe('ENOENT');
    expect(error.message).toContain('"nosuchfamily" is not registered');
    expect(transport.closed).toBe(true);
  });

  it('passes other kernel errors on by errno name', async () => {
    const { result, transport, seq } = start();
    transport.deliver(errorMessage(seq, 1));
    expect((await rejection(result)).code).toBe('EPERM');
  });

  it('rejects a reply without a family id as malformed', async () => {
    const { result, transport, seq } = start();
    transport.deliver(genlMessage(16, 0, seq, 1, [attr(2, Buffer.from('ethtool\0')), attr(3, u32(1))]));
    const error = await rejection(result);
    expect(error.code).toBe('EMALFORMED');
    expect(error.message).toContain('no CTRL_ATTR_FAMILY_ID');
  });

  it('rejects an attribute running past its message as malformed', async () => {
    const { result, transport, seq } = start();
    const reply = familyReply(seq, { id: 21, name: 'ethtool' });
    reply.writeUInt16LE(200, 20); // first attribute claims 200 bytes
    transport.deliver(reply);
    expect((await rejection(result)).code).toBe('EMALFORMED');
  });

  it('passes a socket error on', async () => {
    const { result, transport } = start();
    transport.fail('ENOBUFS');
    expect((await rejection(result)).code).toBe('ENOBUFS');
    expect(transport.closed).toBe(true);
  });

  it('gives up after the timeout', async () => {
    const { result, transport } = start('ethtool', 20);
    const error = await rejection(result);
    expect(error.code).toBe('ETIMEDOUT');
    expect(transport.closed).toBe(true);
  });

  it('rejects when the socket cannot be opened', async () => {
    const error = await rejection(resolveGenlFamily(() => {
      throw new Error('netlink addon not loadable');
    }, 'ethtool'));
    expect(error.message).toBe('netlink addon not loadable');
  });
});
