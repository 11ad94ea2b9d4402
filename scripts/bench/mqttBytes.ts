/**
 * The MQTT section of `npm run bench` (`npm run bench -- mqtt` runs it alone). Issue target:
 * MQTT bytes per minute per agent at defaults with 8 ports ≤ 20 KB/min (KB = 1000 bytes).
 *
 * A real Mosquitto (test/broker/mosquitto.ts, with `sys_interval 1`), and the agent in this
 * process (startAgent) on a FakeHal shaped like an OpenWrt router: WAN eth0 (physical MAC),
 * bridge br-lan, DSA ports lan1..lan8 in it, all with realistic non-zero rates, conntrack
 * around 2,000 of 65,536. Config is the defaults except mqtt.url, mqtt.nodeId (deterministic
 * topics), statusSocket (temp dir), log level and the interface roles, so 10 ports are
 * published; stateIntervalMs (10 s) and sampleIntervalMs (1 s) are the defaults.
 *
 * What the figures count:
 * - "agent": snapshot().mqtt.bytesSent, i.e. socket.bytesWritten of the agent's broker
 *   connection: every MQTT packet the agent wrote (CONNECT with its will, SUBSCRIBE, PUBLISH,
 *   the PUBACKs it returns for QoS 1 messages it receives, PINGREQ, DISCONNECT), framing
 *   included. Not TCP/IP headers (on a wire each segment adds ~52-66 bytes), not TLS.
 * - "broker": Mosquitto's own `$SYS/broker/bytes/received`: every MQTT byte the broker read
 *   from every client, counted by the broker as it parses packets. It is published (retained,
 *   QoS 0, and only when it changed) every sys_interval = 1 s and reflects the counter at that
 *   tick. It also counts our observer client's bytes (its CONNECT and SUBSCRIBE before any
 *   window, the QoS 1 sync publishes and the birth message inside them); those are read from
 *   the observer's own socket.bytesWritten at the same instants and subtracted, so the figure
 *   is "bytes the broker received from the agent", measured independently of the agent.
 *   The observer subscribes at QoS 0 with keepalive 0, so it sends no PUBACK and no PINGREQ.
 * - Window boundaries are "sync points": the observer publishes a QoS 1 message (changing the
 *   broker's counter), waits for its PUBACK, and takes the first $SYS value that arrives after
 *   it (the broker handles one client's packets in order, so that value includes the sync); at
 *   that moment it also reads the agent's counters. Boundaries are placed ~0.3 s after a state
 *   document, so no agent write is in flight across them (checked: the observer counts the
 *   state documents inside each window).
 * - Messages: the agent's messagesSent (PUBLISH packets handed to the socket).
 * - Sizes: "payload" is the JSON as HA receives it; "frame" is the whole MQTT 3.1.1 PUBLISH
 *   packet the agent writes (fixed header, topic, packet id for QoS 1, payload).
 *
 * The device block of discovery names this host (hostname, /etc/os-release), so the discovery
 * size moves by a few bytes from machine to machine; the bench prints what it used.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { BoardDetection } from '../../board/detect.ts';
import { FakeHal } from '../../hal/fake/fakeHal.ts';
import { LINK_MULTICAST, LINK_RX_BYTES, LINK_RX_DROPPED, LINK_RX_PACKETS, LINK_TX_BYTES, LINK_TX_PACKETS } from '../../hal/index.ts';
import { startAgent, type RunningAgent } from '../../src/agent.ts';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { osRelease } from '../../src/mqtt/deviceDescription.ts';
import { mosquittoBinary, startBroker, type Broker } from '../../test/broker/mosquitto.ts';

const TARGET_BYTES_PER_MIN = 20_000;
const NODE = 'lwbench';
const ROOT = `${DEFAULT_CONFIG.mqtt.baseTopic}/${NODE}`;
const STATE = `${ROOT}/state`;
const DISCOVERY = `${DEFAULT_CONFIG.mqtt.discoveryPrefix}/device/${NODE}/config`;
const HA_STATUS = `${DEFAULT_CONFIG.mqtt.discoveryPrefix}/status`;
const SYS_BYTES = '$SYS/broker/bytes/received';
const SYNC_TOPIC = 'lanwatch-bench/sync';
/** A sync point's $SYS value must follow this soon, or the sync is repeated. */
const SYNC_WAIT_MS = 2500;
/** Boundaries sit this long after a state document, well clear of the next one. */
const QUIET_AFTER_STATE_MS = 300;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const kb = (n: number): string => (n / 1000).toFixed(1);

/** Bytes of an MQTT 3.1.1 PUBLISH packet: fixed header, topic, packet id (QoS > 0), payload. */
function publishFrameBytes(topic: string, payloadBytes: number, qos: 0 | 1): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

interface Boundary {
  /** performance.now() when the $SYS value arrived. */
  at: number;
  /** $SYS/broker/bytes/received. */
  brokerReceived: number;
  agentBytes: number;
  agentMessages: number;
  /** Bytes the observer itself has written to the broker. */
  observerBytes: number;
  /** State documents and discovery payloads the observer has received so far. */
  states: number;
  discoveries: number;
}

interface ObservedState {
  at: number;
  bytes: number;
}

/** A QoS 0, keepalive-free subscriber: reads $SYS and the agent's topics, sends only what we tell it to. */
class Observer {
  readonly states: ObservedState[] = [];
  discoveryBytes: number | null = null;
  discoveries = 0;
  private sysValue: number | null = null;
  private armed = false;
  private pending: ((value: number) => void) | null = null;
  private stateWaiters: ((state: ObservedState) => void)[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('error', () => {});
    client.on('message', (topic, payload) => {
      if (topic === SYS_BYTES) {
        this.sysValue = Number(payload.toString('utf8'));
        // Only a value that arrived after the sync's PUBACK counts as that sync's boundary.
        if (this.armed && this.pending) {
          const resolve = this.pending;
          this.pending = null;
          this.armed = false;
          resolve(this.sysValue);
        }
      } else if (topic === STATE) {
        const state = { at: performance.now(), bytes: payload.length };
        this.states.push(state);
        const waiters = this.stateWaiters;
        this.stateWaiters = [];
        for (const w of waiters) w(state);
      } else if (topic === DISCOVERY && payload.length > 0) {
        this.discoveryBytes = payload.length;
        this.discoveries++;
      }
    });
  }

  static async connect(url: string): Promise<Observer> {
    const client = await connectAsync(url, {
      clientId: `lanwatch-bench-observer-${process.pid}`,
      clean: true,
      keepalive: 0, // no PINGREQ inside a window
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const observer = new Observer(client);
    await client.subscribeAsync([SYS_BYTES, STATE, DISCOVERY], { qos: 0 });
    return observer;
  }

  get bytesWritten(): number {
    return (this.client.stream as Socket).bytesWritten;
  }

  nextState(timeoutMs: number): Promise<ObservedState> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no state document on ${STATE} within ${timeoutMs} ms`)), timeoutMs);
      this.stateWaiters.push((state) => {
        clearTimeout(timer);
        resolve(state);
      });
    });
  }

  /** A sync point: both counters at the same instant (see the header). */
  async sync(agent: RunningAgent | null): Promise<Boundary> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const value = new Promise<number | null>((resolve) => {
        this.pending = resolve;
        setTimeout(() => resolve(null), SYNC_WAIT_MS);
      });
      await new Promise<void>((resolve, reject) =>
        this.client.publish(SYNC_TOPIC, 'x', { qos: 1 }, (error) => {
          if (error) reject(error);
          else {
            this.armed = true;
            resolve();
          }
        }),
      );
      const brokerReceived = await value;
      this.pending = null;
      this.armed = false;
      if (brokerReceived === null) continue;
      // Read in the same turn as the $SYS message: nothing else ran in between.
      const mqtt = agent?.snapshot().mqtt;
      return {
        at: performance.now(),
        brokerReceived,
        agentBytes: mqtt?.bytesSent ?? 0,
        agentMessages: mqtt?.messagesSent ?? 0,
        observerBytes: this.bytesWritten,
        states: this.states.length,
        discoveries: this.discoveries,
      };
    }
    throw new Error(`no ${SYS_BYTES} update after 5 sync publishes: is sys_interval set?`);
  }

  async end(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Bytes the broker received from the agent between two boundaries (its own count minus the observer's). */
const brokerFromAgent = (a: Boundary, b: Boundary): number => b.brokerReceived - a.brokerReceived - (b.observerBytes - a.observerBytes);

/** An 8-port OpenWrt-like router with traffic on every port. Rates are per second. */
function routerHal(): FakeHal {
  const hal = new FakeHal();
  const rates = (rxPps: number, rxBps: number, txPps: number, txBps: number, mcast: number, rxDrop = 0): Partial<Record<number, number>> => ({
    [LINK_RX_PACKETS]: rxPps,
    [LINK_RX_BYTES]: rxBps,
    [LINK_TX_PACKETS]: txPps,
    [LINK_TX_BYTES]: txBps,
    [LINK_MULTICAST]: mcast,
    [LINK_RX_DROPPED]: rxDrop,
  });
  hal.addLink({ index: 2, name: 'eth0', mac: '94:83:c4:3a:1e:07' }, rates(2_480, 3_115_337, 1_312, 402_118, 3.4, 0.2));
  hal.addLink({ index: 3, name: 'br-lan', kind: 'bridge', mac: '94:83:c4:3a:1e:08' }, rates(1_298, 388_042, 2_431, 3_004_851, 41.7));
  // lan1..lan8: a desktop, a NAS, a TV, an AP, a printer, a console, a switch, a camera hub.
  const lan: [number, number, number, number, number][] = [
    [412, 98_321, 701, 1_024_388, 6.3],
    [233, 1_408_112, 189, 61_922, 5.9],
    [88, 11_730, 312, 1_187_004, 7.1],
    [297, 140_552, 604, 538_117, 12.8],
    [3, 421, 5, 977, 4.2],
    [61, 18_044, 144, 171_320, 5.5],
    [188, 63_930, 297, 319_786, 9.6],
    [16, 3_862, 179, 102_455, 4.8],
  ];
  lan.forEach(([rxPps, rxBps, txPps, txBps, mcast], i) =>
    hal.addLink({ index: 4 + i, name: `lan${i + 1}`, kind: 'dsa', masterIndex: 3, mac: '94:83:c4:3a:1e:08' }, rates(rxPps, rxBps, txPps, txBps, mcast)),
  );
  hal.conntrack.sample.max = 65_536;
  hal.conntrack.sample.count = 2_013;
  return hal;
}

export async function mqttBytesBench(): Promise<void> {
  const bin = mosquittoBinary();
  if (bin === null) {
    console.log('mqtt bytes: skipped: mosquitto not found on PATH or in sbin (apt-get install mosquitto)');
    return;
  }
  const seconds = Number(process.env.LANWATCH_BENCH_MQTT_SECONDS ?? 60);
  if (!Number.isFinite(seconds) || seconds < 5) throw new Error(`LANWATCH_BENCH_MQTT_SECONDS must be a number ≥ 5, got ${process.env.LANWATCH_BENCH_MQTT_SECONDS}`);
  const stateIntervalMs = DEFAULT_CONFIG.mqtt.stateIntervalMs;

  let broker: Broker | null = null;
  let observer: Observer | null = null;
  let agent: RunningAgent | null = null;
  let wander: NodeJS.Timeout | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'lanwatch-bench-mqtt-'));
  // A Ctrl-C goes through run.ts's process.exit(): only synchronous cleanup runs then
  // (the harness SIGKILLs mosquitto in its own exit hook).
  const exitCleanup = (): void => {
    rmSync(dir, { recursive: true, force: true });
    if (broker) rmSync(broker.dir, { recursive: true, force: true });
  };
  process.once('exit', exitCleanup);
  try {
    broker = await startBroker({ extraConfig: ['sys_interval 1'] });
    const version = /mosquitto version (\S+)/.exec(broker.log())?.[1] ?? 'unknown';
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        statusSocket: join(dir, 'status.sock'),
        interfaces: { wan: 'eth0', lan: ['lan1', 'lan2', 'lan3', 'lan4', 'lan5', 'lan6', 'lan7', 'lan8'], bridge: 'br-lan' },
        mqtt: { url: broker.url, nodeId: NODE },
        log: { level: 'error' },
      }),
    );
    const hal = routerHal();
    // The table breathes a little, so its count and percentage have their usual widths.
    wander = setInterval(() => {
      hal.conntrack.sample.count = Math.max(1_800, Math.min(2_200, hal.conntrack.sample.count + Math.round((Math.random() - 0.5) * 40)));
    }, 1000);

    observer = await Observer.connect(broker.url);
    const beforeAgent = await observer.sync(null);

    // (1) The connect burst: CONNECT .. the first state document, and the PUBACK of our own
    // discovery echo that follows it.
    const startedAt = performance.now();
    const started = await startAgent(
      { configPath: config, demo: false, env: {} },
      {
        hal,
        detect: async () => ({
          detection: { family: 'openwrt', model: 'GL.iNet GL-MT6000', source: 'openwrt' } as BoardDetection,
          routes: ['eth0'],
        }),
      },
    );
    if (typeof started === 'number') throw new Error(`the agent refused to start: exit code ${started}`);
    agent = started;
    const firstState = await observer.nextState(15_000);
    await sleep(500);
    const afterBurst = await observer.sync(agent);
    const burst = {
      agent: afterBurst.agentBytes,
      broker: brokerFromAgent(beforeAgent, afterBurst),
      messages: afterBurst.agentMessages,
      ms: firstState.at - startedAt,
      states: afterBurst.states - beforeAgent.states,
    };
    const stateDocs = observer.states.length;

    // (2) Steady state: boundaries just after a state document, `seconds` apart (longer if the
    // end would fall next to a state document).
    await observer.nextState(stateIntervalMs + 5000);
    await sleep(QUIET_AFTER_STATE_MS);
    const windowStart = await observer.sync(agent);
    await sleep(Math.max(0, windowStart.at + seconds * 1000 - performance.now()));
    const last = observer.states.at(-1)!;
    const sinceLast = performance.now() - last.at;
    if (sinceLast < QUIET_AFTER_STATE_MS || sinceLast > stateIntervalMs - 2000) {
      if (sinceLast >= QUIET_AFTER_STATE_MS) await observer.nextState(stateIntervalMs + 5000);
      await sleep(QUIET_AFTER_STATE_MS);
    }
    const windowEnd = await observer.sync(agent);
    const windowMs = windowEnd.at - windowStart.at;
    const perMinute = (n: number): number => (n * 60_000) / windowMs;
    const steadyAgent = perMinute(windowEnd.agentBytes - windowStart.agentBytes);
    const steadyBroker = perMinute(brokerFromAgent(windowStart, windowEnd));
    const steadyMessages = perMinute(windowEnd.agentMessages - windowStart.agentMessages);
    const windowStates = windowEnd.states - windowStart.states;
    const stateSizes = observer.states.slice(stateDocs).map((s) => s.bytes);

    // (3) A Home Assistant restart: HA's birth message (QoS 0, not retained, HA's defaults)
    // → after the agent's random 1-5 s delay, discovery + alarms + state again. Measured between
    // two state documents; retried if a periodic one fell inside.
    let restart: { agent: number; broker: number; messages: number; answeredMs: number } | null = null;
    for (let attempt = 1; attempt <= 3 && restart === null; attempt++) {
      await observer.nextState(stateIntervalMs + 5000);
      await sleep(QUIET_AFTER_STATE_MS);
      const before = await observer.sync(agent);
      const birthAt = performance.now();
      const answer = observer.nextState(8000);
      await observer.client.publishAsync(HA_STATUS, 'online', { qos: 0, retain: false });
      const answered = await answer;
      await sleep(500);
      const after = await observer.sync(agent);
      if (after.states - before.states !== 1 || after.discoveries - before.discoveries !== 1) continue;
      restart = {
        agent: after.agentBytes - before.agentBytes,
        broker: brokerFromAgent(before, after),
        messages: after.agentMessages - before.agentMessages,
        answeredMs: answered.at - birthAt,
      };
    }

    const discoveryBytes = observer.discoveryBytes;
    const stateMin = Math.min(...stateSizes);
    const stateMax = Math.max(...stateSizes);
    const snap = agent.snapshot();
    const ports = snap.interfaces.filter((l) => l.role !== null).length;

    console.log(
      `mqtt bytes: ${ports} published ports (WAN eth0, bridge br-lan, lan1..lan8), config defaults: state every ${stateIntervalMs / 1000} s, ` +
        `sampling every ${DEFAULT_CONFIG.sampleIntervalMs / 1000} s; mosquitto ${version}, node ${process.version}`,
    );
    console.log(`window: ${seconds} s (LANWATCH_BENCH_MQTT_SECONDS), measured ${(windowMs / 1000).toFixed(1)} s holding ${windowStates} state documents`);
    console.log(`device block from this host: name "${hostname()}", sw "${osRelease('/') ?? '(none)'}"`);
    console.log('agent = bytes the agent wrote to its broker socket; broker = $SYS/broker/bytes/received minus the observer\'s own bytes;');
    console.log('both count MQTT packets with their framing, not TCP/IP headers. KB = 1000 bytes.');
    console.log('');
    if (discoveryBytes !== null) {
      console.log(`discovery payload   ${int(discoveryBytes).padStart(7)} B  (frame ${int(publishFrameBytes(DISCOVERY, discoveryBytes, 1))} B)`);
    }
    const stateRange = stateMin === stateMax ? int(stateMin) : `${int(stateMin)}-${int(stateMax)}`;
    console.log(`state document      ${stateRange.padStart(7)} B  (frame ${int(publishFrameBytes(STATE, stateMax, 0))} B)`);
    console.log('');
    console.log('                                          agent B    broker B  messages');
    console.log(
      `connect burst (connect → first state)  ${int(burst.agent).padStart(10)}  ${int(burst.broker).padStart(10)}  ${String(burst.messages).padStart(8)}` +
        `   first state after ${(burst.ms / 1000).toFixed(1)} s`,
    );
    console.log(
      `steady state, per minute               ${int(steadyAgent).padStart(10)}  ${int(steadyBroker).padStart(10)}  ${steadyMessages.toFixed(1).padStart(8)}`,
    );
    if (windowStates > 0) {
      const perInterval = (windowEnd.agentBytes - windowStart.agentBytes) / windowStates;
      console.log(
        `  = ${int(perInterval)} B per state interval, ${int((perInterval * 60_000) / stateIntervalMs)} B/min at one state document every ${stateIntervalMs / 1000} s`,
      );
    }
    if (restart) {
      console.log(
        `HA restart (birth → disc+alarms+state) ${int(restart.agent).padStart(10)}  ${int(restart.broker).padStart(10)}  ${String(restart.messages).padStart(8)}` +
          `   per event; answered after ${(restart.answeredMs / 1000).toFixed(1)} s`,
      );
    } else {
      console.log('HA restart: n/a (a periodic state document fell inside every attempt)');
    }
    console.log(`first minute incl. connect burst       ${int(burst.agent + steadyAgent).padStart(10)}  ${int(burst.broker + steadyBroker).padStart(10)}`);
    if (burst.states !== 1) console.log(`  warning: ${burst.states} state documents inside the connect burst (expected 1)`);
    if (Math.abs(steadyAgent - steadyBroker) > 0.01 * steadyAgent) console.log('  warning: agent and broker counts differ by more than 1 %');
    console.log('');
    const worst = Math.max(steadyAgent, steadyBroker);
    console.log(`target: ≤ ${kb(TARGET_BYTES_PER_MIN)} KB/min steady state (KB = 1000 B): ${worst <= TARGET_BYTES_PER_MIN ? 'met' : 'NOT met'} (${kb(worst)} KB/min)`);
    if (restart) {
      console.log(`an HA restart costs ${kb(restart.agent)} KB, about ${((restart.agent / steadyAgent) * 60).toFixed(0)} s of steady-state traffic`);
    }
  } finally {
    if (wander) clearInterval(wander);
    await agent?.stop().catch((error: unknown) => console.error(`mqtt bytes: agent stop failed: ${(error as Error).message}`));
    await observer?.end().catch(() => {});
    await broker?.cleanup();
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', exitCleanup);
  }
}
