/**
 * The MQTT sink: builds the broker connection and the Home Assistant publisher from config.
 * The only place that knows MQTT.js's `connect`; tests inject their own.
 */
import { connect as mqttConnect } from 'mqtt';
import type { AlarmEvent, AlarmState } from '../alarms/types.ts';
import type { MqttConfig } from '../config/types.ts';
import type { MqttStatus, StatusSnapshot } from '../status/types.ts';
import { brokerDisplayUrl, brokerOptions } from './brokerOptions.ts';
import { BrokerConnection, type ConnectFunction } from './connection.ts';
import type { DeviceDescription } from './discovery.ts';
import type { AgentIdentity } from './identity.ts';
import { HaPublisher, type PublisherLogger } from './publisher.ts';
import { Topics } from './topics.ts';

export { agentIdentity, primaryMac, type AgentIdentity } from './identity.ts';
export { describeDevice } from './deviceDescription.ts';
export { Topics } from './topics.ts';

export interface MqttSinkOptions {
  config: MqttConfig;
  identity: AgentIdentity;
  device: DeviceDescription;
  agentVersion: string;
  snapshot: () => StatusSnapshot;
  alarms: () => readonly AlarmState[];
  log: PublisherLogger;
  connect?: ConnectFunction;
  /** Tests shorten HA's birth delay and the backoff. */
  tuning?: { birthDelayMs?: { min: number; max: number }; initialDelayMs?: number; maxDelayMs?: number };
}

export interface MqttSink {
  start(): void;
  stop(): Promise<void>;
  onAlarm(event: AlarmEvent): void;
  refreshDiscovery(): void;
  status(): MqttStatus;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A sink that publishes nothing, for `mqtt.enabled: false`; status still says why. */
function disabledSink(config: MqttConfig, nodeId: string): MqttSink {
  const since = new Date().toISOString();
  return {
    start: () => {},
    stop: async () => {},
    onAlarm: () => {},
    refreshDiscovery: () => {},
    status: () => ({
      enabled: false,
      broker: brokerDisplayUrl(config.url),
      state: 'disabled',
      since,
      nodeId,
      connects: 0,
      messagesSent: 0,
      bytesSent: 0,
      lastPublishAt: null,
      lastError: null,
      nextAttemptAt: null,
    }),
  };
}

export function createMqttSink(options: MqttSinkOptions): MqttSink {
  const { config, identity } = options;
  if (!config.enabled) return disabledSink(config, identity.nodeId);
  const topics = new Topics({ baseTopic: config.baseTopic, discoveryPrefix: config.discoveryPrefix, nodeId: identity.nodeId });
  const displayUrl = brokerDisplayUrl(config.url);
  // A random suffix: two agents misconfigured with one node id must not kick each other
  // off the broker in a loop (MQTT drops the older of two sessions with one client id).
  const clientId = `${identity.nodeId}-${Math.random().toString(16).slice(2, 8)}`;
  const connection = new BrokerConnection({
    url: config.url,
    displayUrl,
    clientOptions: brokerOptions(config, clientId, { topic: topics.availability, payload: 'offline' }),
    connect: options.connect ?? mqttConnect,
    log: options.log,
    initialDelayMs: options.tuning?.initialDelayMs,
    maxDelayMs: options.tuning?.maxDelayMs,
  });
  const publisher = new HaPublisher({
    connection,
    topics,
    identity,
    device: options.device,
    agentVersion: options.agentVersion,
    stateIntervalMs: config.stateIntervalMs,
    snapshot: options.snapshot,
    alarms: options.alarms,
    log: options.log,
    birthDelayMs: options.tuning?.birthDelayMs,
  });
  return {
    start: () => publisher.start(),
    stop: () => publisher.stop(),
    onAlarm: (event) => publisher.onAlarm(event),
    refreshDiscovery: () => publisher.refreshDiscovery(),
    status: () => {
      const s = connection.snapshot();
      return {
        enabled: true,
        broker: displayUrl,
        state: s.state,
        since: new Date(s.since).toISOString(),
        nodeId: identity.nodeId,
        connects: s.connects,
        messagesSent: s.messagesSent,
        bytesSent: s.bytesSent,
        lastPublishAt: iso(s.lastPublishAt),
        lastError: s.lastError,
        nextAttemptAt: iso(s.nextAttemptAt),
      };
    },
  };
}
