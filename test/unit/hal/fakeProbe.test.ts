import { describe, expect, it } from 'vitest';
import { FakeLoopProbe } from '../../../hal/fake/fakeProbe.ts';

describe('FakeLoopProbe', () => {
  it('records sends per bridge with the rate limit of the real one, and scripted status', async () => {
    let now = 0;
    const probe = new FakeLoopProbe([{ name: 'br0' }, { name: 'br-iot', via: 'ipv6-all-nodes' }, { name: 'br-off', via: null }], { now: () => now });
    expect(await probe.send()).toBe(2);
    now += 50;
    expect(await probe.send('br0')).toBe(0);
    now += 950;
    expect(await probe.send('br0')).toBe(1);
    expect(probe.sends).toEqual([
      { bridge: 'br0', seq: 1, at: 0 },
      { bridge: 'br-iot', seq: 1, at: 0 },
      { bridge: 'br0', seq: 2, at: 1_000 },
    ]);
    const status = probe.status();
    expect(status.map((s) => [s.bridge, s.via, s.destination, s.sent, s.skipped, s.detail])).toEqual([
      ['br0', 'ipv4-broadcast', '192.0.2.255:9', 2, 1, null],
      ['br-iot', 'ipv6-all-nodes', '[ff02::1%br-iot]:9', 1, 0, null],
      ['br-off', null, null, 0, 0, 'no address: probe off'],
    ]);
  });

  it('fails a send when told to, counts refreshes, stops after close', async () => {
    let now = 0;
    const probe = new FakeLoopProbe([{ name: 'br0' }], { now: () => now });
    probe.failNext = Object.assign(new Error('send ENOBUFS 10.0.0.255:9'), { code: 'ENOBUFS' });
    expect(await probe.send()).toBe(0);
    expect(probe.status()[0]).toMatchObject({ failed: 1, lastError: 'send ENOBUFS 10.0.0.255:9' });
    probe.refresh();
    expect(probe.refreshes).toBe(1);
    await probe.close();
    await probe.close();
    now += 1_000;
    expect(await probe.send()).toBe(0);
    expect(probe.closed).toBe(true);
  });
});
