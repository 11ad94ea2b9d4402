// Recording MQTT clients for broker tests: what Home Assistant (or any other
// subscriber) would actually receive, with the retain flag as delivered.
import { randomBytes } from 'node:crypto';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';

export type QoS = 0 | 1 | 2;

export interface RecordedMessage {
  topic: string;
  payload: string;
  /**
   * The retain flag as delivered. With MQTT 3.1.1 (and v5 without
   * retain-as-published) the broker sets it only when replaying its retained
   * store at subscribe time, so true means "a late subscriber got this".
   */
  retain: boolean;
  qos: QoS;
  /** Date.now() at receipt. */
  at: number;
}

export interface Recorder {
  readonly client: MqttClient;
  /** Every message received since connect (or the last clear()), oldest first. */
  readonly messages: readonly RecordedMessage[];
  /**
   * First message matching predicate: one already recorded, else the next one to arrive.
   * Rejects after timeoutMs (default 5 s) listing the topics seen so far.
   */
  waitFor(predicate: (m: RecordedMessage) => boolean, timeoutMs?: number): Promise<RecordedMessage>;
  clear(): void;
  publish(topic: string, payload: string | Buffer, options?: { retain?: boolean; qos?: QoS }): Promise<void>;
  /** Disconnects; forced when the broker is gone so it never hangs. Safe to call twice. */
  end(): Promise<void>;
}

export interface RecorderOptions {
  /** Reconnect (and resubscribe) after the broker restarts. Default true. */
  reconnect?: boolean;
  /** Subscription QoS. Default 1, so QoS 1 publishes arrive as QoS 1. */
  qos?: QoS;
  clientId?: string;
  connectTimeoutMs?: number;
}

function uniqueClientId(kind: string): string {
  return `lanwatch-test-${kind}-${randomBytes(4).toString('hex')}`;
}

function toQoS(n: number): QoS {
  return n === 2 ? 2 : n === 1 ? 1 : 0;
}

function describeSeen(messages: readonly RecordedMessage[]): string {
  if (messages.length === 0) return 'no messages received';
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
  const list = [...counts].map(([t, n]) => (n > 1 ? `${t} (x${n})` : t));
  return `${messages.length} message(s) on: ${list.join(', ')}`;
}

function baseOptions(clientId: string, connectTimeoutMs: number, reconnect: boolean): IClientOptions {
  return {
    clientId,
    clean: true,
    connectTimeout: connectTimeoutMs,
    // 0 disables reconnects; 200 ms keeps restart tests quick without spinning.
    reconnectPeriod: reconnect ? 200 : 0,
  };
}

/** Connects, subscribes to topics (filters allowed) and records every message. */
export async function connectRecorder(url: string, topics: string[], options: RecorderOptions = {}): Promise<Recorder> {
  const qos = options.qos ?? 1;
  const client = await connectAsync(url, baseOptions(
    options.clientId ?? uniqueClientId('rec'),
    options.connectTimeoutMs ?? 5_000,
    options.reconnect ?? true,
  ));
  let messages: RecordedMessage[] = [];
  const waiters = new Set<(m: RecordedMessage) => void>();

  client.on('message', (topic, payload, packet) => {
    const m: RecordedMessage = {
      topic,
      payload: payload.toString('utf8'),
      retain: packet.retain,
      qos: toQoS(packet.qos),
      at: Date.now(),
    };
    messages.push(m);
    for (const w of [...waiters]) w(m);
  });
  // Errors surface through waitFor timeouts; an unhandled 'error' event would crash the worker.
  client.on('error', () => {});

  if (topics.length > 0) await client.subscribeAsync(topics, { qos });

  let ended = false;
  return {
    client,
    get messages(): readonly RecordedMessage[] {
      return messages;
    },
    waitFor(predicate, timeoutMs = 5_000): Promise<RecordedMessage> {
      const already = messages.find(predicate);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const onMessage = (m: RecordedMessage): void => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          waiters.delete(onMessage);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(onMessage);
          reject(new Error(`no matching message within ${timeoutMs} ms (subscribed to ${topics.join(', ')}); ${describeSeen(messages)}`));
        }, timeoutMs);
        waiters.add(onMessage);
      });
    },
    clear(): void {
      messages = [];
    },
    async publish(topic, payload, opts = {}): Promise<void> {
      await client.publishAsync(topic, payload, { retain: opts.retain ?? false, qos: opts.qos ?? 0 });
    },
    async end(): Promise<void> {
      if (ended) return;
      ended = true;
      // A graceful end waits for in-flight packets, which never complete when the broker is down.
      await client.endAsync(!client.connected);
    },
  };
}

/**
 * What a client subscribing *now* would get from the broker's retained store:
 * connects a fresh client, subscribes to topicFilter, keeps only messages that
 * arrive with the retain flag for settleMs after the SUBACK, then disconnects.
 * Cleared topics (empty retained payload) never show up, as with a real subscriber.
 */
export async function retainedSnapshot(url: string, topicFilter: string | string[], settleMs = 300): Promise<Map<string, string>> {
  const client = await connectAsync(url, baseOptions(uniqueClientId('snap'), 5_000, false));
  const snapshot = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) snapshot.set(topic, payload.toString('utf8'));
  });
  client.on('error', () => {});
  try {
    await client.subscribeAsync(topicFilter, { qos: 1 });
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    await client.endAsync(!client.connected);
  }
  return snapshot;
}
