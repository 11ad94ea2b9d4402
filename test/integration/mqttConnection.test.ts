// The broker connection on its own against a real Mosquitto: a broker that is not there yet
// (the router booted before Home Assistant) costs one warning, not one per retry, and the
// connection comes up by itself once the broker does.
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerConnection } from '../../src/mqtt/connection.ts';
import { retainedSnapshot } from '../broker/client.ts';
import { requireMosquitto, startBroker, stopAllBrokers, type Broker } from '../broker/mosquitto.ts';

const skip = requireMosquitto();

describe.skipIf(skip)('BrokerConnection', () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await startBroker();
  });

  afterAll(async () => {
    await broker?.cleanup();
    await stopAllBrokers();
  });

  it('retries a missing broker with backoff, warns once, and connects when it appears', async () => {
    await broker.stop();
    const lines: { level: string; message: string }[] = [];
    const log = {
      info: (message: string) => lines.push({ level: 'info', message }),
      warn: (message: string) => lines.push({ level: 'warn', message }),
      debug: (message: string) => lines.push({ level: 'debug', message }),
    };
    const connection = new BrokerConnection({
      url: broker.url,
      displayUrl: broker.url,
      clientOptions: { clientId: 'lanwatch-connection-test', reconnectPeriod: 0, connectTimeout: 2000, clean: true },
      connect,
      log,
      initialDelayMs: 50,
      maxDelayMs: 200,
    });
    let connects = 0;
    connection.onConnect(() => {
      connects++;
      connection.publish('lanwatch/test/hello', 'up', { qos: 1, retain: true });
    });
    connection.start();
    try {
      const deadline = Date.now() + 5000;
      while (lines.filter((l) => l.level === 'debug').length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const waiting = connection.snapshot();
      expect(waiting.state).toMatch(/waiting|connecting/);
      expect(waiting.lastError).toMatch(/ECONNREFUSED/);
      expect(waiting.bytesSent).toBe(0);
      // Four retries or more, one warning: the first failure is news, the rest are not.
      expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
      expect(lines[0]!.message).toContain(`cannot connect to ${broker.url}`);

      await broker.restart();
      while (connects === 0 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
      expect(connects).toBe(1);
      expect(lines.some((l) => l.level === 'info' && /connected to .* after \d+ failed attempts/.test(l.message))).toBe(true);
      expect((await retainedSnapshot(broker.url, 'lanwatch/test/hello')).get('lanwatch/test/hello')).toBe('up');
      expect(connection.snapshot()).toMatchObject({ state: 'connected', connects: 1, lastError: null });
    } finally {
      await connection.stop();
    }
    expect(connection.snapshot().state).toBe('stopped');
  });

  it('publish while disconnected sends nothing and says so', () => {
    const connection = new BrokerConnection({
      url: 'mqtt://127.0.0.1:1',
      displayUrl: 'mqtt://127.0.0.1:1',
      clientOptions: {},
      connect,
      log: { info: () => {}, warn: () => {}, debug: () => {} },
    });
    expect(connection.publish('x', 'y', { qos: 0, retain: false })).toBe(false);
    expect(connection.snapshot().messagesSent).toBe(0);
  });
});
