// Tests of the broker harness itself (test/broker/): a real Mosquitto, real
// retained messages, a real restart. Skipped with a printed reason when
// mosquitto is missing, but fails under CI=true (see requireMosquitto()).
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { requireMosquitto, startBroker, stopAllBrokers, type Broker } from '../broker/mosquitto.ts';
import { connectRecorder, retainedSnapshot, type Recorder } from '../broker/client.ts';

const skip = requireMosquitto();
const T = 30_000;

describe.skipIf(skip)('mosquitto harness', () => {
  const recorders: Recorder[] = [];
  afterAll(async () => {
    await Promise.all(recorders.map((r) => r.end()));
    await stopAllBrokers();
  }, T);

  async function recorder(url: string, topics: string[]): Promise<Recorder> {
    const r = await connectRecorder(url, topics);
    recorders.push(r);
    return r;
  }

  it('writes the config it was asked for and logs to its own dir', async () => {
    const broker = await startBroker();
    try {
      expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
      expect(broker.running).toBe(true);
      const conf = readFileSync(join(broker.dir, 'mosquitto.conf'), 'utf8');
      expect(conf).toContain(`listener ${broker.port} 127.0.0.1`);
      expect(conf).toContain('allow_anonymous true');
      expect(conf).toContain('persistence false');
      expect(conf).toContain('log_type all');
      expect(conf).not.toContain('pid_file');
      expect(broker.log()).toMatch(/mosquitto version \S+ running/);
    } finally {
      await broker.cleanup();
    }
  }, T);

  it('appends extraConfig lines to its config (sys_interval 1: $SYS counters every second)', async () => {
    const broker = await startBroker({ extraConfig: ['sys_interval 1'] });
    try {
      const conf = readFileSync(join(broker.dir, 'mosquitto.conf'), 'utf8');
      expect(conf).toMatch(/^sys_interval 1$/m);
      expect(conf).toContain(`listener ${broker.port} 127.0.0.1`);
      const r = await recorder(broker.url, ['$SYS/broker/bytes/received']);
      // The first value may be the 0 published at start; our own CONNECT shows up a tick later.
      await r.waitFor((m) => Number(m.payload) > 0, 3000);
    } finally {
      await broker.cleanup();
    }
  }, T);

  it('a late subscriber sees retained messages only; a live one sees everything', async () => {
    const broker = await startBroker();
    const live = await recorder(broker.url, ['t/#']);
    await live.publish('t/retained', 'kept', { retain: true, qos: 1 });
    await live.publish('t/plain', 'gone', { qos: 1 });

    const got = await live.waitFor((m) => m.topic === 't/plain');
    expect(got).toMatchObject({ payload: 'gone', retain: false, qos: 1 });
    // Live delivery does not carry the retain flag (MQTT 3.1.1 semantics).
    expect((await live.waitFor((m) => m.topic === 't/retained')).retain).toBe(false);

    const snap = await retainedSnapshot(broker.url, 't/#');
    expect([...snap]).toEqual([['t/retained', 'kept']]);

    // An empty retained payload clears the topic for later subscribers.
    await live.publish('t/retained', '', { retain: true, qos: 1 });
    expect((await retainedSnapshot(broker.url, 't/#')).size).toBe(0);
    await broker.cleanup();
  }, T);

  it('waitFor rejects on timeout and names the topics it did see', async () => {
    const broker = await startBroker();
    const r = await recorder(broker.url, ['w/#']);
    await r.publish('w/one', 'x', { qos: 1 });
    await r.waitFor((m) => m.topic === 'w/one');
    await expect(r.waitFor((m) => m.topic === 'w/never', 200)).rejects.toThrow(/w\/one/);
    r.clear();
    expect(r.messages).toHaveLength(0);
    await broker.cleanup();
  }, T);

  it('restart without persistence: same port, retained messages gone, subscribers reconnect', async () => {
    const broker = await startBroker();
    const port = broker.port;
    const url = broker.url;
    const r = await recorder(broker.url, ['r/#']);
    await r.publish('r/state', 'before', { retain: true, qos: 1 });
    expect((await retainedSnapshot(url, 'r/#')).get('r/state')).toBe('before');

    await broker.restart();
    expect(broker.port).toBe(port);
    expect(broker.url).toBe(url);
    expect(broker.running).toBe(true);
    expect((await retainedSnapshot(url, 'r/#')).size).toBe(0);

    // The recorder reconnects and resubscribes on its own (MQTT.js resubscribe).
    const publisher = await recorder(url, []);
    const deadline = Date.now() + 10_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      await publisher.publish('r/after', 'x', { qos: 1 });
      seen = await r.waitFor((m) => m.topic === 'r/after', 300).then(() => true, () => false);
    }
    expect(seen).toBe(true);
    await broker.cleanup();
  }, T);

  it('restart with persistence keeps retained messages', async () => {
    const broker = await startBroker({ persistence: true });
    const r = await recorder(broker.url, []);
    await r.publish('p/state', 'kept', { retain: true, qos: 1 });
    await r.end();
    await broker.restart();
    expect((await retainedSnapshot(broker.url, 'p/#')).get('p/state')).toBe('kept');
    await broker.cleanup();
  }, T);

  it('kill() is a crash: the process is gone at once and restart() brings it back', async () => {
    const broker = await startBroker();
    await broker.kill();
    expect(broker.running).toBe(false);
    await expect(retainedSnapshot(broker.url, '#', 50)).rejects.toThrow();
    await broker.restart();
    expect(broker.running).toBe(true);
    expect((await retainedSnapshot(broker.url, '#', 50)).size).toBe(0);
    await broker.cleanup();
  }, T);

  it('a start that cannot bind fails with the reason and the log tail', async () => {
    const broker = await startBroker();
    await broker.stop();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(broker.port, '127.0.0.1', resolve));
    try {
      await expect(broker.restart()).rejects.toThrow(/address already in use; log tail:\n[\s\S]*Opening ipv4 listen socket/);
      expect(broker.running).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      await broker.cleanup();
    }
  }, T);

  it('cleanup stops the broker, removes its dir and can be called twice', async () => {
    const broker: Broker = await startBroker();
    expect(existsSync(broker.dir)).toBe(true);
    await broker.cleanup();
    expect(broker.running).toBe(false);
    expect(existsSync(broker.dir)).toBe(false);
    await broker.cleanup();
    await expect(broker.restart()).rejects.toThrow(/cleaned up/);
  }, T);

  it('stopAllBrokers() kills leftovers and removes their dirs', async () => {
    const a = await startBroker();
    const b = await startBroker();
    await b.stop(); // stopped but not cleaned up: its dir must still go
    expect(a.port).not.toBe(b.port);
    await stopAllBrokers();
    expect(a.running).toBe(false);
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
  }, T);
});
