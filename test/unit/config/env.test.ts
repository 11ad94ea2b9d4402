import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../../src/config/env.ts';

const problem = (path: string, message: string) => ({ source: 'environment', path, message });

describe('configFromEnv', () => {
  it('ignores other variables and the agent runtime ones', () => {
    expect(
      configFromEnv({ PATH: '/bin', LANWATCH_CONFIG: '/tmp/x.json', LANWATCH_TEST_SEED: '7', lanwatch_board: 'x' }),
    ).toEqual({ layer: {}, problems: [], rejected: [] });
  });

  it('coerces numbers, booleans, lists and nulls by the schema type', () => {
    const { layer, problems } = configFromEnv({
      LANWATCH_SAMPLE_INTERVAL_MS: '250',
      LANWATCH_MQTT_URL: 'mqtts://broker:8883',
      LANWATCH_MQTT_STATE_INTERVAL_MS: ' 5000 ',
      LANWATCH_ALARMS_NAT_TABLE_WARN_PCT: '80.5',
      LANWATCH_ALARMS_NAT_TABLE_ENABLED: 'no',
      LANWATCH_INTERFACES_LAN: 'eth1, eth2',
      LANWATCH_INTERFACES_WAN: 'null',
      LANWATCH_MQTT_USERNAME: '',
      LANWATCH_LOG_LEVEL: 'debug',
    });
    expect(problems).toEqual([]);
    expect(layer).toEqual({
      sampleIntervalMs: 250,
      mqtt: { url: 'mqtts://broker:8883', stateIntervalMs: 5000, username: null },
      alarms: { natTable: { warnPct: 80.5, enabled: false } },
      interfaces: { lan: ['eth1', 'eth2'], wan: null },
      log: { level: 'debug' },
    });
  });

  it('turns a list of numbers into numbers and names the item that is not one', () => {
    expect(configFromEnv({ LANWATCH_LOOP_SSH_PORTS: '22, 2222' }).layer).toEqual({ loop: { sshPorts: [22, 2222] } });
    expect(configFromEnv({ LANWATCH_LOOP_SSH_PORTS: '22,ssh' }).problems).toEqual([
      problem('LANWATCH_LOOP_SSH_PORTS', 'item 2 must be a TCP port number from 1 to 65535 (got "ssh")'),
    ]);
  });

  it.each([
    ['1', true],
    ['yes', true],
    ['TRUE', true],
    ['0', false],
    ['No', false],
    ['false', false],
  ])('reads boolean %s', (text, value) => {
    expect(configFromEnv({ LANWATCH_ALARMS_NAT_TABLE_ENABLED: text }).layer).toEqual({
      alarms: { natTable: { enabled: value } },
    });
  });

  it('names the variable when a value cannot be converted', () => {
    const { layer, problems, rejected } = configFromEnv({
      LANWATCH_SAMPLE_INTERVAL_MS: 'fast',
      LANWATCH_MQTT_STATE_INTERVAL_MS: '1.5',
      LANWATCH_ALARMS_NAT_TABLE_ENABLED: 'maybe',
      LANWATCH_ALARMS_NAT_TABLE_CRIT_PCT: 'high',
      LANWATCH_BOARD: '',
    });
    expect(layer).toEqual({});
    expect(rejected.sort()).toEqual(['alarms.natTable.critPct', 'alarms.natTable.enabled', 'board', 'mqtt.stateIntervalMs', 'sampleIntervalMs']);
    expect(problems).toEqual([
      problem('LANWATCH_ALARMS_NAT_TABLE_CRIT_PCT', 'must be a percentage from 0 to 100 (got "high")'),
      problem('LANWATCH_ALARMS_NAT_TABLE_ENABLED', 'must be true or false (also 1/0, yes/no) (got "maybe")'),
      problem('LANWATCH_BOARD', 'is empty; unset the variable to use the default'),
      problem('LANWATCH_MQTT_STATE_INTERVAL_MS', 'must be a whole number of milliseconds (got "1.5")'),
      problem('LANWATCH_SAMPLE_INTERVAL_MS', 'must be a whole number of milliseconds (got "fast")'),
    ]);
  });

  it('applies the schema limits to converted values', () => {
    expect(
      configFromEnv({
        LANWATCH_SAMPLE_INTERVAL_MS: '5',
        LANWATCH_MQTT_URL: 'http://broker',
        LANWATCH_INTERFACES_LAN: 'eth1,,eth2',
        LANWATCH_LOG_FORMAT: 'xml',
      }).problems,
    ).toEqual([
      problem('LANWATCH_INTERFACES_LAN', 'item 2 must be an interface name (got "")'),
      problem('LANWATCH_LOG_FORMAT', 'must be one of auto, json, pretty (got "xml")'),
      problem('LANWATCH_MQTT_URL', 'must start with mqtt://, mqtts://, ws:// or wss:// (got "http://broker")'),
      problem('LANWATCH_SAMPLE_INTERVAL_MS', 'must be between 100 and 60000 (got 5)'),
    ]);
  });

  it('reports unknown LANWATCH_* variables with a suggestion', () => {
    expect(
      configFromEnv({
        LANWATCH_SAMPLE_INTERVAL: '100',
        LANWATCH_MQTT_PASWORD: 'x',
        LANWATCH_MQTT_PORT: '1883',
        LANWATCH_FROBNICATE: '1',
      }).problems,
    ).toEqual([
      problem('LANWATCH_FROBNICATE', 'unknown variable'),
      problem('LANWATCH_MQTT_PASWORD', 'unknown variable (did you mean LANWATCH_MQTT_PASSWORD?)'),
      problem(
        'LANWATCH_MQTT_PORT',
        'unknown variable (did you mean LANWATCH_MQTT_URL? the port is part of the URL: mqtt://host:1883)',
      ),
      problem('LANWATCH_SAMPLE_INTERVAL', 'unknown variable (did you mean LANWATCH_SAMPLE_INTERVAL_MS?)'),
    ]);
  });

  it('an empty list variable means "not set"', () => {
    expect(configFromEnv({ LANWATCH_INTERFACES_LAN: '' }).layer).toEqual({ interfaces: { lan: [] } });
  });
});
