import { describe, expect, it } from 'vitest';
import { mergeConfig } from '../../../src/config/merge.ts';
import { DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import type { ConfigLayer } from '../../../src/config/types.ts';

describe('mergeConfig', () => {
  it('returns a mutable copy of the defaults with no layers', () => {
    const config = mergeConfig();
    expect(config).toEqual(DEFAULT_CONFIG);
    config.interfaces.lan.push('eth9');
    expect(DEFAULT_CONFIG.interfaces.lan).toEqual([]);
  });

  it('merges objects per key, later layers winning', () => {
    const board: ConfigLayer = { interfaces: { wan: 'eth0', lan: ['eth1', 'eth2'], bridge: 'br-lan' } };
    const file: ConfigLayer = { sampleIntervalMs: 500, mqtt: { url: 'mqtt://file:1883', baseTopic: 'home/lw' } };
    const env: ConfigLayer = { mqtt: { url: 'mqtt://env:1883' }, alarms: { natTable: { warnPct: 80 } } };
    const config = mergeConfig(DEFAULT_CONFIG, board, file, env);
    expect(config.sampleIntervalMs).toBe(500);
    expect(config.interfaces).toEqual({ wan: 'eth0', lan: ['eth1', 'eth2'], bridge: 'br-lan' });
    expect(config.mqtt.url).toBe('mqtt://env:1883');
    expect(config.mqtt.baseTopic).toBe('home/lw');
    expect(config.mqtt.discoveryPrefix).toBe('homeassistant');
    expect(config.alarms.natTable).toEqual({ enabled: true, warnPct: 80, warnClearPct: 85, critPct: 95, critClearPct: 90, holdMs: 60000 });
  });

  it('replaces lists whole, and treats an empty list as not set', () => {
    const board: ConfigLayer = { interfaces: { lan: ['eth1', 'eth2', 'eth3'] } };
    expect(mergeConfig(board, { interfaces: { lan: ['lan0'] } }).interfaces.lan).toEqual(['lan0']);
    expect(mergeConfig(board, { interfaces: { lan: [] } }).interfaces.lan).toEqual(['eth1', 'eth2', 'eth3']);
  });

  it('null resets a nullable key and is ignored for others', () => {
    const file: ConfigLayer = { interfaces: { wan: 'ppp0' }, mqtt: { username: 'ha' } };
    // A layer cast from unchecked data: non-nullable keys given null must keep their value.
    const env = { interfaces: { wan: null }, mqtt: { username: null, url: null }, sampleIntervalMs: null };
    const config = mergeConfig(file, env as unknown as ConfigLayer);
    expect(config.interfaces.wan).toBeNull();
    expect(config.mqtt.username).toBeNull();
    expect(config.mqtt.url).toBe('mqtt://localhost:1883');
    expect(config.sampleIntervalMs).toBe(1000);
  });

  it('copies only known keys and shares nothing with its inputs', () => {
    const lan = ['eth1'];
    const layer = { interfaces: { lan }, bogus: 1 } as ConfigLayer;
    const config = mergeConfig(layer);
    expect(config).not.toHaveProperty('bogus');
    lan.push('eth2');
    expect(config.interfaces.lan).toEqual(['eth1']);
  });
});
