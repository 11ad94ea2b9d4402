/**
 * The Home Assistant side of the broker connection: availability, discovery, the state
 * document, alarms. It computes nothing; it reads the agent's status snapshot and alarm
 * states and turns them into retained messages at the right moments:
 *
 * - on every connect: `online`, discovery, every alarm, the state (a broker that restarted
 *   without persistence has lost all retained messages, and HA may have restarted too);
 * - on HA's birth message (`homeassistant/status` = `online`): discovery, alarms and state
 *   again after a small random delay, as HA's docs ask, so a houseful of devices does not
 *   answer in the same millisecond;
 * - every state interval: the state document;
 * - on every alarm change: that alarm's ON/OFF and attributes.
 */
import type { AlarmEvent, AlarmState } from '../alarms/types.ts';
import type { StatusSnapshot } from '../status/types.ts';
import type { BrokerConnection } from './connection.ts';
import { buildDiscovery, type DeviceDescription, type DiscoveredAlarm } from './discovery.ts';
import type { AgentIdentity } from './identity.ts';
import { buildStateDocument, publishedEntities, samePublished, type PublishedEntities } from './stateDocument.ts';
import type { Topics } from './topics.ts';

export interface PublisherLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface PublisherOptions {
  connection: BrokerConnection;
  topics: Topics;
  identity: AgentIdentity;
  device: DeviceDescription;
  agentVersion: string;
  stateIntervalMs: number;
  snapshot: () => StatusSnapshot;
  /** Every alarm the engine knows, current state. */
  alarms: () => readonly AlarmState[];
  log: PublisherLogger;
  /** Random delay before answering HA's birth message, ms (HA docs: "some random delay"). */
  birthDelayMs?: { min: number; max: number };
  /** How long to wait for our own retained discovery after subscribing, to learn what HA has. */
  retainedSettleMs?: number;
  random?: () => number;
}

/** HA only ever sends these two on its status topic; a longer payload is not HA's. */
const MAX_STATUS_PAYLOAD = 16;

export class HaPublisher {
  private stateTimer: NodeJS.Timeout | null = null;
  private birthTimer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  /** What the last discovery we sent announced; the state document lists exactly that. */
  private published: PublishedEntities = { ports: [], upstream: false };
  /** Components HA currently knows from us: our retained discovery as the broker echoes it. */
  private readonly announced = new Map<string, string>();
  private discoverySent = false;
  /** Alarm changes that happened while no broker was connected, per alarm. */
  private readonly missed = new Map<string, number>();
  /** Topics we already complained about: a malformed payload is logged once, not per message. */
  private readonly warnedTopics = new Set<string>();
  private readonly random: () => number;

  constructor(private readonly options: PublisherOptions) {
    this.random = options.random ?? Math.random;
    options.connection.onConnect(() => this.connected());
    options.connection.onMessage((topic, payload) => this.message(topic, payload));
  }

  start(): void {
    this.options.connection.start();
    this.stateTimer = setInterval(() => this.publishState(), this.options.stateIntervalMs);
  }

  async stop(): Promise<void> {
    for (const timer of [this.stateTimer, this.birthTimer, this.settleTimer]) if (timer) clearTimeout(timer);
    this.stateTimer = this.birthTimer = this.settleTimer = null;
    await this.options.connection.stop([{ topic: this.options.topics.availability, payload: 'offline' }]);
  }

  /** An alarm changed: publish it now, or count it for the next connect. */
  onAlarm(event: AlarmEvent): void {
    if (!this.options.connection.connected) {
      this.missed.set(event.name, (this.missed.get(event.name) ?? 0) + 1);
      return;
    }
    this.publishAlarm(event.state);
  }

  /** Interfaces or roles changed: announce added ports and remove vanished ones. */
  refreshDiscovery(): void {
    if (!this.options.connection.connected || !this.discoverySent) return;
    const published = publishedEntities(this.options.snapshot());
    if (samePublished(published, this.published)) return;
    this.publishDiscovery(published);
    this.publishState();
  }

  private connected(): void {
    const { connection, topics } = this.options;
    this.discoverySent = false;
    this.announced.clear();
    connection.publish(topics.availability, 'online', { qos: 1, retain: true });
    connection.subscribe(topics.haStatus);
    // Our own retained discovery tells which components HA knows from a previous run, so
    // ports that vanished while we were away get removed rather than left as dead entities.
    connection.subscribe(topics.discovery, () => {
      // A connection that dropped during the previous settle must not announce twice.
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.announceAll(), this.options.retainedSettleMs ?? 500);
    });
  }

  private announceAll(): void {
    this.settleTimer = null;
    if (!this.options.connection.connected) return;
    this.publishDiscovery(publishedEntities(this.options.snapshot()));
    for (const alarm of this.options.alarms()) {
      const missed = this.missed.get(alarm.name);
      if (missed !== undefined) {
        this.options.log.info(`mqtt: ${alarm.name} changed ${missed} time${missed === 1 ? '' : 's'} while the broker was unreachable; now ${alarm.active ? `ON (${alarm.severity})` : 'OFF'}`);
      }
      this.publishAlarm(alarm);
    }
    this.missed.clear();
    this.publishState();
  }

  private publishDiscovery(published: PublishedEntities): void {
    const { connection, topics } = this.options;
    const base = {
      topics,
      identity: this.options.identity,
      device: this.options.device,
      agentVersion: this.options.agentVersion,
      ports: published.ports,
      upstream: published.upstream,
      alarms: this.options.alarms().map((a): DiscoveredAlarm => ({ name: a.name, title: a.title })),
      stateIntervalMs: this.options.stateIntervalMs,
    };
    const current = buildDiscovery(base);
    const removed = new Map<string, string>();
    for (const [id, platform] of this.announced) if (!(id in current.payload.cmps)) removed.set(id, platform);
    if (removed.size > 0) {
      // HA's documented removal: the component reduced to its platform, then the payload without it.
      connection.publish(topics.discovery, JSON.stringify(buildDiscovery({ ...base, removed }).payload), { qos: 1, retain: true });
      this.options.log.info(`mqtt: removing ${removed.size} entities of vanished interfaces from Home Assistant`);
    }
    connection.publish(topics.discovery, JSON.stringify(current.payload), { qos: 1, retain: true });
    this.published = published;
    this.discoverySent = true;
  }

  private publishState(): void {
    if (!this.options.connection.connected || !this.discoverySent) return;
    const document = buildStateDocument(this.options.snapshot(), this.published);
    // Retained, so HA shows the last values at once after its own restart; expire_after and
    // the availability topic keep a dead agent's values from passing as live.
    this.options.connection.publish(this.options.topics.state, JSON.stringify(document), { qos: 0, retain: true });
  }

  private publishAlarm(state: AlarmState): void {
    const { connection, topics } = this.options;
    const missed = this.missed.get(state.name) ?? 0;
    this.missed.delete(state.name);
    connection.publish(topics.alarm(state.name), state.active ? 'ON' : 'OFF', { qos: 1, retain: true });
    connection.publish(topics.alarmAttributes(state.name), JSON.stringify(alarmAttributes(state, missed)), { qos: 1, retain: true });
  }

  private message(topic: string, payload: Buffer): void {
    const { topics } = this.options;
    if (topic === topics.haStatus) this.haStatus(topic, payload);
    else if (topic === topics.discovery) this.ownDiscovery(topic, payload);
  }

  private haStatus(topic: string, payload: Buffer): void {
    const text = payload.length <= MAX_STATUS_PAYLOAD ? payload.toString('utf8') : null;
    if (text === 'offline') return;
    if (text !== 'online') {
      this.malformed(topic, `expected "online" or "offline", got ${describe(payload)}`);
      return;
    }
    if (this.birthTimer) return;
    const { min, max } = this.options.birthDelayMs ?? { min: 1000, max: 5000 };
    const delay = min + (max - min) * this.random();
    this.options.log.debug(`mqtt: Home Assistant restarted; re-sending discovery in ${Math.round(delay)} ms`);
    this.birthTimer = setTimeout(() => {
      this.birthTimer = null;
      if (!this.options.connection.connected) return;
      this.publishDiscovery(publishedEntities(this.options.snapshot()));
      for (const alarm of this.options.alarms()) this.publishAlarm(alarm);
      this.publishState();
    }, delay);
  }

  /** Tracks which components the broker holds for us (our retained copy, or its echo). */
  private ownDiscovery(topic: string, payload: Buffer): void {
    this.announced.clear();
    if (payload.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      this.malformed(topic, 'retained discovery is not JSON; it will be replaced');
      return;
    }
    const cmps = isRecord(parsed) ? (parsed.cmps ?? parsed.components) : undefined;
    if (!isRecord(cmps)) {
      this.malformed(topic, 'retained discovery has no components; it will be replaced');
      return;
    }
    for (const [id, component] of Object.entries(cmps)) {
      if (!isRecord(component)) continue;
      const platform = component.p ?? component.platform;
      // A removal marker ({"p": …} alone) is a component HA has already dropped.
      if (typeof platform === 'string' && Object.keys(component).length > 1) this.announced.set(id, platform);
    }
  }

  private malformed(topic: string, why: string): void {
    if (this.warnedTopics.has(topic)) {
      this.options.log.debug(`mqtt: ignored a message on ${topic}: ${why}`);
      return;
    }
    this.warnedTopics.add(topic);
    this.options.log.warn(`mqtt: ignored a message on ${topic}: ${why} (further ones are logged at debug level)`);
  }
}

/** What HA shows under the alarm entity. Times are ISO 8601 in UTC. */
export function alarmAttributes(state: AlarmState, changesWhileOffline: number): Record<string, unknown> {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const number = (value: number): number | null => (Number.isFinite(value) ? Math.round(value * 10) / 10 : null);
  return {
    ...state.attributes,
    severity: state.severity,
    // An alarm that never changed has no reason yet; null reads better in HA than "".
    reason: state.reason === '' ? null : state.reason,
    since: iso(state.since),
    value: number(state.value),
    peak: number(state.peak),
    raised_count: state.raisedCount,
    last_raised_at: iso(state.lastRaisedAt),
    last_cleared_at: iso(state.lastClearedAt),
    // An alarm that raised and cleared while the broker was down still leaves a trace.
    changes_while_offline: changesWhileOffline,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(payload: Buffer): string {
  if (payload.length === 0) return 'an empty payload';
  if (payload.length > MAX_STATUS_PAYLOAD) return `${payload.length} bytes`;
  return JSON.stringify(payload.toString('utf8'));
}
