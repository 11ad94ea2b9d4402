/**
 * One broker connection that never gives up and never crashes the agent. Each attempt is a
 * fresh MQTT.js client with its own retry disabled; between attempts we wait a capped
 * exponential backoff. A fresh client per attempt means nothing queued while offline is ever
 * replayed: the publisher sends current state on every connect instead.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff } from './backoff.ts';

export type ConnectionState = 'disabled' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export interface ConnectionStats {
  state: ConnectionState;
  /** Epoch ms the current state began. */
  since: number;
  connects: number;
  /** Publishes the client handed to the socket. */
  messagesSent: number;
  /** Bytes written to the broker socket, all connections (MQTT framing included). */
  bytesSent: number;
  lastPublishAt: number | null;
  lastError: string | null;
  /** Epoch ms of the next attempt while waiting. */
  nextAttemptAt: number | null;
}

export type ConnectFunction = (url: string, options: IClientOptions) => MqttClient;

export interface ConnectionLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface ConnectionOptions {
  url: string;
  /** For logs: the URL without credentials. */
  displayUrl: string;
  clientOptions: IClientOptions;
  connect: ConnectFunction;
  log: ConnectionLogger;
  /** Backoff steps; the defaults double from 1 s up to 60 s. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A connection that held this long resets the backoff; a flapping one keeps backing off. */
  stableAfterMs?: number;
  now?: () => number;
}

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

export class BrokerConnection {
  private client: MqttClient | null = null;
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectedAt = 0;
  /** The client that reached CONNACK, if the current one did. */
  private connectedClient: MqttClient | null = null;
  private bytesOfClosedSockets = 0;
  private failuresSinceConnect = 0;
  private readonly stats: ConnectionStats;
  private readonly connectListeners: (() => void)[] = [];
  private readonly messageListeners: ((topic: string, payload: Buffer) => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly options: ConnectionOptions) {
    this.now = options.now ?? Date.now;
    this.backoff = new Backoff({ initialMs: options.initialDelayMs ?? 1000, maxMs: options.maxDelayMs ?? 60_000 });
    this.stats = {
      state: 'stopped',
      since: this.now(),
      connects: 0,
      messagesSent: 0,
      bytesSent: 0,
      lastPublishAt: null,
      lastError: null,
      nextAttemptAt: null,
    };
  }

  get connected(): boolean {
    return this.stats.state === 'connected';
  }

  /** Called after every successful connect, before any queued work. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  onMessage(listener: (topic: string, payload: Buffer) => void): void {
    this.messageListeners.push(listener);
  }

  start(): void {
    if (this.stats.state !== 'stopped') return;
    this.attempt();
  }

  snapshot(): ConnectionStats {
    return { ...this.stats, bytesSent: this.bytesOfClosedSockets + this.bytesWrittenBy(this.client) };
  }

  /** False (and nothing sent) while not connected: the caller republishes on connect. */
  publish(topic: string, payload: string, options: PublishOptions): boolean {
    const client = this.client;
    if (client === null || !this.connected) return false;
    client.publish(topic, payload, options, (error) => {
      if (error) {
        this.stats.lastError = error.message;
        return;
      }
      this.stats.messagesSent++;
      this.stats.lastPublishAt = this.now();
    });
    return true;
  }

  /** `onDone` runs once the broker answered, granted or not (an ACL may refuse a topic). */
  subscribe(topic: string, onDone?: () => void): void {
    const client = this.client;
    if (client === null || !this.connected) return;
    client.subscribe(topic, { qos: 1 }, (error, granted) => {
      // MQTT 3.1.1 refuses a subscription with return code 0x80 in SUBACK, not with an error.
      if (error || granted?.some((g) => g.qos === 128)) {
        this.options.log.warn(`mqtt: the broker refused the subscription to ${topic}${error ? `: ${error.message}` : ''}`);
      }
      if (this.client === client) onDone?.();
    });
  }

  /**
   * Clean shutdown: the given messages (the retained `offline`) go out at QoS 1 and are
   * acknowledged before a proper DISCONNECT, which tells the broker not to send the will.
   * Bounded by `timeoutMs` so a hung broker cannot stall the agent's exit.
   */
  async stop(finalMessages: readonly { topic: string; payload: string }[] = [], timeoutMs = 3000): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client;
    const wasConnected = this.connected;
    this.setState('stopped');
    if (client === null) return;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    if (wasConnected) {
      const sent = finalMessages.map(
        (m) => new Promise<void>((resolve) => client.publish(m.topic, m.payload, { qos: 1, retain: true }, () => resolve())),
      );
      await Promise.race([Promise.all(sent), deadline]);
    }
    await Promise.race([new Promise<void>((resolve) => client.end(!wasConnected, {}, () => resolve())), deadline]);
    this.retire(client);
    client.end(true);
  }

  private attempt(): void {
    this.retryTimer = null;
    this.setState('connecting');
    let client: MqttClient;
    try {
      client = this.options.connect(this.options.url, this.options.clientOptions);
    } catch (error) {
      // A URL MQTT.js cannot handle; config check should have caught it, so keep trying slowly.
      this.failed((error as Error).message);
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.stats.connects++;
      this.connectedClient = client;
      this.stats.lastError = null;
      this.connectedAt = this.now();
      this.setState('connected');
      const after = this.failuresSinceConnect > 0 ? ` after ${this.failuresSinceConnect} failed attempts` : '';
      this.options.log.info(`mqtt: connected to ${this.options.displayUrl}${after}`);
      this.failuresSinceConnect = 0;
      for (const listener of this.connectListeners) {
        try {
          listener();
        } catch (error) {
          this.options.log.warn(`mqtt: connect handler failed: ${(error as Error).message}`);
        }
      }
    });
    client.on('message', (topic, payload) => {
      if (this.client !== client) return;
      for (const listener of this.messageListeners) {
        try {
          listener(topic, payload);
        } catch (error) {
          this.options.log.warn(`mqtt: handling a message on ${topic} failed: ${(error as Error).message}`);
        }
      }
    });
    client.on('error', (error) => {
      if (this.client === client) this.stats.lastError = error.message;
    });
    client.on('close', () => {
      if (this.client !== client || this.stats.state === 'stopped') return;
      const wasConnected = this.stats.state === 'connected';
      this.retire(client);
      client.end(true);
      if (wasConnected) {
        if (this.now() - this.connectedAt >= (this.options.stableAfterMs ?? 30_000)) this.backoff.reset();
        this.options.log.warn(`mqtt: connection to ${this.options.displayUrl} lost${this.stats.lastError ? ` (${this.stats.lastError})` : ''}; reconnecting`);
      }
      this.failed(this.stats.lastError ?? 'connection closed', wasConnected);
    });
  }

  private failed(reason: string, afterConnection = false): void {
    this.stats.lastError = reason;
    if (!afterConnection) {
      this.failuresSinceConnect++;
      // The first failure is news; the next hundred while the broker is down are not.
      const message = `mqtt: cannot connect to ${this.options.displayUrl}: ${reason}; retrying with backoff (up to ${Math.round((this.options.maxDelayMs ?? 60_000) / 1000)} s)`;
      if (this.failuresSinceConnect === 1) this.options.log.warn(message);
      else this.options.log.debug(message);
    }
    const delay = this.backoff.next();
    this.stats.nextAttemptAt = this.now() + delay;
    this.setState('waiting');
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  /** Keeps the byte count of a socket that is going away. */
  private retire(client: MqttClient): void {
    if (this.client !== client) return;
    this.bytesOfClosedSockets += this.bytesWrittenBy(client);
    this.client = null;
  }

  /** Only a connection that reached the broker counts: a refused one queued bytes it never sent. */
  private bytesWrittenBy(client: MqttClient | null): number {
    if (client === null || this.connectedClient !== client) return 0;
    return (client.stream as { bytesWritten?: number } | undefined)?.bytesWritten ?? 0;
  }

  private setState(state: ConnectionState): void {
    if (state !== 'waiting') this.stats.nextAttemptAt = null;
    if (this.stats.state === state) return;
    this.stats.state = state;
    this.stats.since = this.now();
  }
}
