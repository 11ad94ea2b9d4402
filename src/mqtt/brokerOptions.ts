/**
 * Turns the mqtt config section into MQTT.js connect options: credentials (inline or from a
 * password file), TLS material, the will. Files are read once, at start; `config check` has
 * already verified they are readable, so a failure here is a real I/O error worth stopping on.
 */
import fs from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { MqttConfig } from '../config/types.ts';

/** The broker URL for people and logs: no user name, no password, ever. */
export function brokerDisplayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url.slice(url.lastIndexOf('@') + 1);
  }
}

/** First line of the file, without its line ending (echo "secret" > file adds one). */
export function readPasswordFile(file: string): string {
  return fs.readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '';
}

export interface Will {
  topic: string;
  payload: string;
}

export function brokerOptions(config: MqttConfig, clientId: string, will: Will): IClientOptions {
  const options: IClientOptions = {
    clientId,
    // A clean session: after an outage the agent publishes fresh state itself, so the broker
    // must not replay a queue of stale messages.
    clean: true,
    keepalive: 30,
    connectTimeout: 10_000,
    // Reconnects are ours (capped exponential backoff); MQTT.js only retries at a fixed period.
    reconnectPeriod: 0,
    queueQoSZero: false,
    resubscribe: false,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
  };
  if (config.username !== null) options.username = config.username;
  if (config.password !== null) options.password = config.password;
  if (config.passwordFile !== null) options.password = readPasswordFile(config.passwordFile);
  if (config.ca !== null) options.ca = fs.readFileSync(config.ca);
  if (config.cert !== null) options.cert = fs.readFileSync(config.cert);
  if (config.key !== null) options.key = fs.readFileSync(config.key);
  return options;
}
