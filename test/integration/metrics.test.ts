import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHal } from '../../hal/fake/fakeHal.ts';
import { LINK_MULTICAST, LINK_RX_BYTES, LINK_RX_PACKETS, LINK_TX_BYTES } from '../../hal/index.ts';
import type { AlarmState } from '../../src/alarms/types.ts';
import {
  collectMetrics,
  EXPOSITION_CONTENT_TYPE,
  renderExposition,
  renderMetrics,
  startMetricsServer,
  type MetricFamily,
  type MetricsServer,
  type MetricsServerOptions,
  type MetricsSources,
} from '../../src/metrics/index.ts';
import { Sampler } from '../../src/sampler/sampler.ts';
import { parseExposition, requirePromParser, type ParsedFamily } from './promparse.ts';

const python = requirePromParser();

const servers: MetricsServer[] = [];
const warnings: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  warnings.length = 0;
});

async function serve(render: () => string, extra: Partial<MetricsServerOptions> = {}): Promise<string> {
  const server = await startMetricsServer({
    address: '127.0.0.1',
    port: 0,
    render,
    log: { warn: (m) => warnings.push(m) },
    ...extra,
  });
  servers.push(server);
  return `http://127.0.0.1:${server.address.port}`;
}

const NOW_MONO = 90_500;

/** A sampler over a fake kernel, a few ticks in, with alarms and MQTT counters. */
function agentSources(): { hal: FakeHal; sources: MetricsSources } {
  let now = 0;
  const clock = () => now;
  const hal = new FakeHal(clock);
  const sampler = new Sampler(hal, { intervalMs: 1000, log: { warn: () => {}, info: () => {} }, now: clock });
  hal.addLink({ index: 2, name: 'eth0' }, { [LINK_RX_BYTES]: 125_000, [LINK_TX_BYTES]: 50_000, [LINK_RX_PACKETS]: 100 });
  hal.addLink({ index: 3, name: 'lan1' }, { [LINK_MULTICAST]: 12 });
  // Linux allows quotes and backslashes in interface names: the escaping must survive a real parser.
  hal.addLink({ index: 4, name: 'we"ird\\0' }, { [LINK_RX_BYTES]: 1 });
  hal.setCounter(2, LINK_TX_BYTES, 2 ** 52 + 1); // a big 64-bit counter must come through exact
  Object.assign(hal.conntrack.sample, { count: 1900, max: 2048, drop: 7, earlyDrop: 3, insertFailed: 1, searchRestart: 2 });
  for (let i = 0; i < 3; i++) {
    now += 1000;
    sampler.tick();
  }
  const alarm: AlarmState = {
    name: 'nat_table', title: 'NAT table almost full', active: true, severity: 'critical', since: 1, value: 92.8,
    peak: 92.8, reason: 'full', attributes: {}, raisedCount: 2, lastRaisedAt: 1, lastClearedAt: null,
  };
  return {
    hal,
    sources: {
      sampler,
      roles: () => ({ wan: 'eth0', lan: ['lan1'], bridge: null }),
      alarms: () => [alarm],
      agent: { version: '0.1.0-test', startedAtMono: 500 },
      mqtt: () => ({ connected: true, messagesSent: 41, bytesSent: 9000 }),
    },
  };
}

function family(parsed: ParsedFamily[], name: string): ParsedFamily {
  const found = parsed.find((f) => f.name === name);
  expect(found, `family ${name}`).toBeDefined();
  return found!;
}

/** What the Python parser should report for one of our families. */
function asParsed(f: MetricFamily): ParsedFamily {
  const counter = f.type === 'counter';
  return {
    name: counter ? f.name.replace(/_total$/, '') : f.name,
    type: f.type === 'untyped' ? 'unknown' : f.type,
    help: f.help,
    samples: f.samples.map((s) => ({ name: f.name, labels: { ...s.labels }, value: s.value })),
  };
}

describe.skipIf(python === null)('exposition read by the official Python parser', () => {
  it('parses a full scrape to exactly the families we collected', async () => {
    const { hal, sources } = agentSources();
    const url = await serve(() => renderMetrics(sources, NOW_MONO));
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(EXPOSITION_CONTENT_TYPE);
    const parsed = await parseExposition(python!, await res.text());

    const expected = collectMetrics(sources, NOW_MONO).filter((f) => f.samples.length > 0).map(asParsed);
    expect(parsed).toEqual(expected);

    // And the values are the fake kernel's, under node_exporter's names and types.
    const rxBytes = family(parsed, 'node_network_receive_bytes');
    expect(rxBytes.type).toBe('counter');
    expect(rxBytes.samples).toEqual([
      { name: 'node_network_receive_bytes_total', labels: { device: 'eth0' }, value: 375_000 },
      { name: 'node_network_receive_bytes_total', labels: { device: 'lan1' }, value: 0 },
      { name: 'node_network_receive_bytes_total', labels: { device: 'we"ird\\0' }, value: 3 },
    ]);
    expect(hal.linkStats.states.get(2)!.counters[LINK_RX_BYTES]).toBe(375_000);
    expect(family(parsed, 'node_network_transmit_bytes').samples[0]!.value).toBe(2 ** 52 + 1 + 150_000);
    expect(family(parsed, 'node_network_receive_multicast').samples[1]).toEqual({
      name: 'node_network_receive_multicast_total', labels: { device: 'lan1' }, value: 36,
    });
    expect(family(parsed, 'node_nf_conntrack_entries')).toMatchObject({ type: 'gauge', samples: [{ value: 1900 }] });
    expect(family(parsed, 'node_nf_conntrack_entries_limit')).toMatchObject({ type: 'gauge', samples: [{ value: 2048 }] });
    expect(family(parsed, 'node_nf_conntrack_stat_drop')).toMatchObject({
      type: 'gauge', samples: [{ name: 'node_nf_conntrack_stat_drop', value: 7 }],
    });
    expect(family(parsed, 'node_nf_conntrack_stat_early_drop').samples[0]!.value).toBe(3);
    expect(family(parsed, 'lanwatch_build_info').samples).toEqual([
      { name: 'lanwatch_build_info', labels: { version: '0.1.0-test' }, value: 1 },
    ]);
    expect(family(parsed, 'lanwatch_uptime_seconds').samples[0]!.value).toBe(90);
    expect(family(parsed, 'lanwatch_sampler_ticks').samples[0]).toEqual({ name: 'lanwatch_sampler_ticks_total', labels: {}, value: 3 });
    expect(family(parsed, 'lanwatch_interface_role').samples.map((s) => s.labels)).toEqual([
      { device: 'eth0', role: 'wan' },
      { device: 'lan1', role: 'lan' },
    ]);
    expect(family(parsed, 'lanwatch_alarm_severity').samples).toEqual([
      { name: 'lanwatch_alarm_severity', labels: { alarm: 'nat_table' }, value: 2 },
    ]);
    expect(family(parsed, 'lanwatch_alarm_raised').samples[0]!.value).toBe(2);
    expect(family(parsed, 'lanwatch_mqtt_connected').samples[0]!.value).toBe(1);
    expect(family(parsed, 'lanwatch_mqtt_bytes_sent').samples[0]!.value).toBe(9000);
  });

  it('round-trips escapes, NaN, the infinities and big integers', async () => {
    const families: MetricFamily[] = [
      {
        name: 'edge_gauge',
        type: 'gauge',
        help: 'Path C:\\temp and "quotes"\nsecond line',
        samples: [
          { labels: { v: 'back\\slash "quoted"\nnext' }, value: NaN },
          { labels: { v: 'plus' }, value: Infinity },
          { labels: { v: 'minus' }, value: -Infinity },
          { labels: { v: 'frac' }, value: 0.125 },
          { labels: { v: 'tiny' }, value: 1e-9 },
        ],
      },
      { name: 'edge_total', type: 'counter', help: 'Big.', samples: [{ value: 2 ** 64 }] },
      { name: 'edge_untyped', type: 'untyped', help: '', samples: [{ value: -3 }] },
    ];
    const url = await serve(() => renderExposition(families));
    const parsed = await parseExposition(python!, await (await fetch(`${url}/metrics`)).text());
    const gauge = family(parsed, 'edge_gauge');
    expect(gauge.help).toBe('Path C:\\temp and "quotes"\nsecond line');
    expect(gauge.samples.map((s) => [s.labels.v, s.value])).toEqual([
      ['back\\slash "quoted"\nnext', 'NaN'],
      ['plus', '+Inf'],
      ['minus', '-Inf'],
      ['frac', 0.125],
      ['tiny', 1e-9],
    ]);
    expect(family(parsed, 'edge')).toMatchObject({ type: 'counter', samples: [{ name: 'edge_total', value: 2 ** 64 }] });
    expect(family(parsed, 'edge_untyped').samples[0]!.value).toBe(-3);
  });
});

describe('metrics HTTP server', () => {
  it('serves /metrics to GET and HEAD, a pointer at /, 404 elsewhere, 405 for other methods', async () => {
    const body = '# HELP up_like x\n# TYPE up_like gauge\nup_like 1\n';
    const url = await serve(() => body);

    const get = await fetch(`${url}/metrics?debug=1`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await get.text()).toBe(body);

    const head = await fetch(`${url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(await head.text()).toBe('');

    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('/metrics');

    const missing = await fetch(`${url}/metric`);
    expect(missing.status).toBe(404);
    await missing.text();

    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await fetch(`${url}/metrics`, { method, body: method === 'DELETE' ? null : 'x' });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      await res.text();
    }
  });

  it('answers 500 and logs when rendering throws, and keeps serving', async () => {
    let fail = true;
    const url = await serve(() => {
      if (fail) throw new Error('collector bug');
      return 'ok 1\n';
    });
    const bad = await fetch(`${url}/metrics`);
    expect(bad.status).toBe(500);
    await bad.text();
    expect(warnings).toEqual(['prometheus: rendering metrics failed: collector bug']);
    fail = false;
    expect(await (await fetch(`${url}/metrics`)).text()).toBe('ok 1\n');
  });

  it('rejects with one clear line when the port is taken', async () => {
    const url = await serve(() => '');
    const port = Number(new URL(url).port);
    const second = startMetricsServer({ address: '127.0.0.1', port, render: () => '', log: { warn: () => {} } });
    await expect(second).rejects.toThrow(`prometheus: cannot listen on 127.0.0.1:${port}: address already in use`);
    await expect(second).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('rejects with a clear line for an address this host does not have', async () => {
    let nonlocalBind = '0';
    try {
      nonlocalBind = readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8').trim();
    } catch {
      // not Linux: the kernel refuses foreign addresses
    }
    if (nonlocalBind !== '0') return; // this kernel would let the bind succeed
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a real host. Binding sends nothing.
    const start = startMetricsServer({ address: '192.0.2.1', port: 9839, render: () => '', log: { warn: () => {} } });
    await expect(start).rejects.toThrow('prometheus: cannot listen on 192.0.2.1:9839: address not available on this host');
  });

  it('drops a client that never finishes its request headers', async () => {
    const url = await serve(() => '', { limits: { headersTimeout: 300, requestTimeout: 600, checkInterval: 100 } });
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    const started = Date.now();
    let response = '';
    socket.setEncoding('utf8').on('data', (d: string) => (response += d));
    socket.on('connect', () => socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n'));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes with keep-alive connections open', async () => {
    const server = await startMetricsServer({ address: '127.0.0.1', port: 0, render: () => 'x 1\n', log: { warn: () => {} } });
    await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text();
    expect(server.address.address).toBe('127.0.0.1');
    const closed = server.close();
    await expect(Promise.race([closed, new Promise((r) => setTimeout(() => r('timeout'), 2000))])).resolves.toBeUndefined();
  });
});
