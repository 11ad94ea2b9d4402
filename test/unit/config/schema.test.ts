import { describe, expect, it } from 'vitest';
import { defaultsOf, leavesOf } from '../../../src/config/nodes.ts';
import { CONFIG_SCHEMA, DEFAULT_CONFIG } from '../../../src/config/schema.ts';
import { crossFieldProblems } from '../../../src/config/rules.ts';
import { validateConfig } from '../../../src/config/validate.ts';
import { ENV_VARIABLES } from '../../../src/config/env.ts';
import type { Config } from '../../../src/config/types.ts';

// Written out by hand from the issue, so a changed schema default shows up as a failing test.
const EXPECTED_DEFAULTS: Config = {
  sampleIntervalMs: 1000,
  statusSocket: null,
  board: 'auto',
  interfaces: { wan: null, lan: [], bridge: null },
  mqtt: {
    enabled: true,
    url: 'mqtt://localhost:1883',
    username: null,
    password: null,
    passwordFile: null,
    ca: null,
    cert: null,
    key: null,
    discoveryPrefix: 'homeassistant',
    baseTopic: 'lanwatch',
    nodeId: null,
    stateIntervalMs: 10000,
  },
  alarms: {
    natTable: { enabled: true, warnPct: 90, warnClearPct: 85, critPct: 95, critClearPct: 90, holdMs: 60000 },
    natFull: { enabled: true, warnRefused: 1, critRefused: 50, holdMs: 60000 },
    natUpstream: { enabled: true, warnPct: 80, warnClearPct: 75, critPct: 95, critClearPct: 90, holdMs: 60000 },
    storm: { enabled: true, raisePps: 1000, baselineFactor: 20, baselineFloorPps: 200, baselineWarmupMs: 300000 },
    loop: { enabled: true, flapMoves: 5, flapWindowMs: 10000, quietMs: 10000 },
  },
  nat: { upstreamBudget: null, resyncIntervalMs: 60000 },
  loop: { probeIntervalMs: 1000, protect: false, holdDownMs: 300000, sshPorts: [22] },
  prometheus: { enabled: false, address: '127.0.0.1', port: 9839 },
  log: { level: 'info', format: 'auto' },
};

describe('schema and defaults', () => {
  it('DEFAULT_CONFIG is the schema defaults and the documented values', () => {
    expect(DEFAULT_CONFIG).toEqual(defaultsOf(CONFIG_SCHEMA));
    expect(DEFAULT_CONFIG).toEqual(EXPECTED_DEFAULTS);
  });

  it('the defaults pass the complete schema and every cross-field rule', () => {
    expect(validateConfig(DEFAULT_CONFIG, 'defaults')).toEqual([]);
    expect(crossFieldProblems(DEFAULT_CONFIG, [])).toEqual([]);
  });

  it('every leaf has a default and a description', () => {
    for (const { path, node } of leavesOf(CONFIG_SCHEMA)) {
      expect(node, path.join('.')).toHaveProperty('default');
      expect(node.description.length, path.join('.')).toBeGreaterThan(0);
    }
  });

  it('DEFAULT_CONFIG cannot be changed by a caller', () => {
    expect(Object.isFrozen(DEFAULT_CONFIG.mqtt)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CONFIG.interfaces.lan)).toBe(true);
  });

  it('derives one distinct LANWATCH_* name per leaf', () => {
    const names = ENV_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(leavesOf(CONFIG_SCHEMA).length);
    expect(names).toEqual(
      expect.arrayContaining([
        'LANWATCH_SAMPLE_INTERVAL_MS',
        'LANWATCH_MQTT_URL',
        'LANWATCH_MQTT_STATE_INTERVAL_MS',
        'LANWATCH_ALARMS_NAT_TABLE_WARN_PCT',
        'LANWATCH_INTERFACES_LAN',
        'LANWATCH_MQTT_PASSWORD_FILE',
      ]),
    );
  });
});
