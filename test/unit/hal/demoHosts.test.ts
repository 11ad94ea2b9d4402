import { afterEach, describe, expect, it } from 'vitest';
import { HOST_ENTRIES, type ConntrackSample } from '../../../hal/index.ts';
import { DemoHal } from '../../../hal/fake/demo.ts';

describe('the demo HAL’s conntrack hosts', () => {
  let hal: DemoHal | undefined;
  afterEach(() => hal?.close());

  it('fills the host table with named hosts whose entries add up to about the conntrack count', async () => {
    hal = new DemoHal();
    const dumped = await new Promise<Error | null>((resolve) => hal!.conntrackHosts.dump(hal!.hostTable, resolve));
    expect(dumped).toBeNull();
    const top = new Int32Array(5);
    const n = hal.hostTable.topRows(HOST_ENTRIES, top);
    expect(n).toBe(5);
    expect(hal.hostTable.addressOf(top[0]!)).toBe('192.168.1.23');
    const identities = await hal.hostIdentities();
    expect(identities.get('192.168.1.23')).toEqual({ mac: '7c:bb:8a:12:34:56', name: 'playstation' });

    const sample = await new Promise<ConntrackSample>((resolve, reject) => {
      const out = { ...hal!.conntrack.sample };
      hal!.conntrack.read(out, (error) => (error ? reject(error) : resolve(out)));
    });
    const hosts = hal.hostTable.totals[HOST_ENTRIES]!;
    // Scaled per class and rounded: within one entry per class of the table's count.
    expect(Math.abs(hosts - sample.count)).toBeLessThanOrEqual(10);
  });
});
