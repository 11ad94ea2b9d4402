import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHal } from '../../../hal/fake/fakeHal.ts';
import { startMetricsEndpoint } from '../../../src/metrics/endpoint.ts';
import type { MetricsSources } from '../../../src/metrics/collect.ts';
import { Sampler } from '../../../src/sampler/sampler.ts';

/** Hosts with IPv6 disabled have no ::1; the IPv6 case is skipped there, saying so. */
const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createServer();
  probe.once('error', () => resolve(false));
  probe.listen(0, '::1', () => probe.close(() => resolve(true)));
});

const sources: MetricsSources = {
  sampler: new Sampler(new FakeHal(), { intervalMs: 1000, log: { warn: () => {}, info: () => {} } }),
  roles: () => ({ wan: null, lan: [], bridge: null }),
  alarms: () => [],
  agent: { version: '1.2.3', startedAtMono: 0 },
};

describe('startMetricsEndpoint', () => {
  let squatter: Server;
  let taken = 0;
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) };

  beforeAll(async () => {
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    taken = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

  it('listens on nothing when off', async () => {
    const endpoint = await startMetricsEndpoint({ enabled: false, address: '127.0.0.1', port: taken }, sources, log);
    expect(endpoint.status).toEqual({ url: null, error: null });
    expect(lines).toEqual([]);
  });

  it('reports a taken port in status and the log instead of failing', async () => {
    const endpoint = await startMetricsEndpoint({ enabled: true, address: '127.0.0.1', port: taken }, sources, log);
    expect(endpoint.status).toEqual({ url: null, error: `prometheus: cannot listen on 127.0.0.1:${taken}: address already in use` });
    expect(lines).toEqual([`error prometheus: cannot listen on 127.0.0.1:${taken}: address already in use`]);
    await endpoint.close();
  });

  it.skipIf(!ipv6Loopback)('gives the URL it serves, with IPv6 addresses in brackets', async () => {
    // The port taken on 127.0.0.1 is free on ::1: the two are separate sockets.
    const endpoint = await startMetricsEndpoint({ enabled: true, address: '::1', port: taken }, sources, log);
    try {
      expect(endpoint.status).toEqual({ url: `http://[::1]:${taken}/metrics`, error: null });
      const body = await (await fetch(endpoint.status.url!)).text();
      expect(body).toContain('lanwatch_build_info{version="1.2.3"} 1');
    } finally {
      await endpoint.close();
    }
  });
});
