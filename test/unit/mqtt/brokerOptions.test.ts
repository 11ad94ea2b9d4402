import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { brokerDisplayUrl, brokerOptions, readPasswordFile } from '../../../src/mqtt/brokerOptions.ts';

const dir = mkdtempSync(join(tmpdir(), 'lanwatch-broker-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const will = { topic: 'lanwatch/n/availability', payload: 'offline' };

describe('brokerDisplayUrl', () => {
  it('drops user name and password, keeps scheme, host, port and path', () => {
    expect(brokerDisplayUrl('mqtt://user:s3cret@broker.lan:1883')).toBe('mqtt://broker.lan:1883');
    expect(brokerDisplayUrl('mqtts://user@[fd00::1]:8883')).toBe('mqtts://[fd00::1]:8883');
    expect(brokerDisplayUrl('wss://u:p@ha.lan/mqtt')).toBe('wss://ha.lan/mqtt');
    expect(brokerDisplayUrl('mqtt://localhost:1883')).toBe('mqtt://localhost:1883');
  });
});

describe('brokerOptions', () => {
  it('sets a retained QoS 1 will, a clean session and leaves retrying to the agent', () => {
    const options = brokerOptions(DEFAULT_CONFIG.mqtt, 'lanwatch-test', will);
    expect(options.will).toEqual({ topic: will.topic, payload: Buffer.from('offline'), qos: 1, retain: true });
    expect(options.clean).toBe(true);
    expect(options.reconnectPeriod).toBe(0);
    expect(options.queueQoSZero).toBe(false);
    expect(options.username).toBeUndefined();
    expect(options.password).toBeUndefined();
  });

  it('reads the first line of a password file, without its line ending', () => {
    const file = join(dir, 'password');
    writeFileSync(file, 'correct horse\r\nsecond line\n');
    expect(readPasswordFile(file)).toBe('correct horse');
    const options = brokerOptions({ ...DEFAULT_CONFIG.mqtt, username: 'lanwatch', passwordFile: file }, 'id', will);
    expect(options.username).toBe('lanwatch');
    expect(options.password).toBe('correct horse');
  });

  it('loads TLS material from the configured files', () => {
    for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), `--- ${name} ---`);
    const options = brokerOptions(
      { ...DEFAULT_CONFIG.mqtt, url: 'mqtts://broker:8883', ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
      'id',
      will,
    );
    expect(String(options.ca)).toBe('--- ca.pem ---');
    expect(String(options.cert)).toBe('--- cert.pem ---');
    expect(String(options.key)).toBe('--- key.pem ---');
  });
});
