import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONFIG,
  checkConfig,
  formatProblems,
  redactConfig,
  resolveConfigPath,
  type ConfigProblem,
} from '../../../src/config.ts';
import { useTempDirs, writeJson } from './tmp.ts';

const tempDir = useTempDirs();

/** Checks a config file with the given content and returns its problems as "path: message". */
function problemsOf(content: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  const file = writeJson(tempDir(), 'config.json', content);
  return checkConfig(file, env).problems.map((p) => `${p.path}: ${p.message}`);
}

describe('checkConfig', () => {
  it('gives the defaults when there is no file and no variable', () => {
    const dir = tempDir();
    const result = checkConfig(path.join(dir, 'none', 'config.json'), { LANWATCH_CONFIG: '' });
    // Named explicitly, so its absence is a problem; the default path's absence is not.
    expect(result.problems).toEqual([{ source: path.join(dir, 'none', 'config.json'), path: '', message: 'does not exist' }]);
    expect(resolveConfigPath(undefined, {})).toEqual({ path: '/etc/lanwatch/config.json', explicit: false });
    expect(fs.existsSync(path.join(dir, 'none'))).toBe(false);
  });

  it('is all defaults for an empty object', () => {
    const file = writeJson(tempDir(), 'config.json', {});
    const result = checkConfig(file, {});
    expect(result.problems).toEqual([]);
    expect(result.config).toEqual(DEFAULT_CONFIG);
    expect(result.found).toBe(true);
  });

  it('honours LANWATCH_CONFIG as the file path', () => {
    const file = writeJson(tempDir(), 'custom.json', { board: 'pi-router' });
    const result = checkConfig(undefined, { LANWATCH_CONFIG: file });
    expect(result.path).toBe(file);
    expect(result.config?.board).toBe('pi-router');
  });

  it('lets the environment override the file, which overrides the defaults', () => {
    const file = writeJson(tempDir(), 'config.json', {
      sampleIntervalMs: 500,
      mqtt: { url: 'mqtt://file:1883', baseTopic: 'home/lanwatch' },
      interfaces: { lan: ['eth1'] },
    });
    const { config, problems } = checkConfig(file, {
      LANWATCH_MQTT_URL: 'mqtts://env:8883',
      LANWATCH_INTERFACES_LAN: 'eth2,eth3',
    });
    expect(problems).toEqual([]);
    expect(config?.sampleIntervalMs).toBe(500);
    expect(config?.mqtt.url).toBe('mqtts://env:8883');
    expect(config?.mqtt.baseTopic).toBe('home/lanwatch');
    expect(config?.mqtt.stateIntervalMs).toBe(10000);
    expect(config?.interfaces.lan).toEqual(['eth2', 'eth3']);
  });

  it('reports schema problems with their exact paths', () => {
    expect(
      problemsOf({
        sampleIntervalMs: 5,
        statusSocket: 'run/status.sock',
        board: '',
        interfaces: { wan: 7, lan: ['eth1', ''] },
        mqtt: { url: 1883, port: 1883, discoveryPrefix: 'home assistant', stateIntervalMs: 10.5 },
        alarms: { natTable: { enabled: 'yes', critPct: 101 } },
        log: { level: 'verbose', fromat: 'json' },
      }),
    ).toEqual([
      'sampleIntervalMs: must be between 100 and 60000 (got 5)',
      'statusSocket: must be an absolute path of at most 107 characters (got "run/status.sock")',
      'board: must be one of auto, pi-router, pi-bridge, openwrt-dsa, generic (got "")',
      'interfaces.wan: must be an interface name, or null (got 7)',
      'interfaces.lan[1]: must be an interface name (got "")',
      'mqtt.url: must be a string like mqtt://host:1883 or mqtts://host:8883 (got 1883)',
      'mqtt.port: unknown key (did you mean mqtt.url? the port is part of the URL: mqtt://host:1883)',
      'mqtt.discoveryPrefix: must be an MQTT topic like lanwatch or home/lanwatch (letters, digits, _ and -, levels split by /) (got "home assistant")',
      'mqtt.stateIntervalMs: must be a whole number of milliseconds (got 10.5)',
      'alarms.natTable.enabled: must be true or false (got "yes")',
      'alarms.natTable.critPct: must be between 0 and 100 (got 101)',
      'log.level: must be one of fatal, error, warn, info, debug, trace (got "verbose")',
      'log.fromat: unknown key (did you mean log.format?)',
    ]);
  });

  it('suggests close or misplaced keys for unknown ones', () => {
    expect(
      problemsOf({ sample_interval_ms: 100, url: 'mqtt://x', mqtt: { pass: 'x' }, natTable: {}, zzz: 1 }),
    ).toEqual([
      'sample_interval_ms: unknown key (did you mean sampleIntervalMs?)',
      'url: unknown key (did you mean mqtt.url?)',
      'mqtt.pass: unknown key (did you mean mqtt.password?)',
      'natTable: unknown key (did you mean alarms.natTable?)',
      'zzz: unknown key',
    ]);
  });

  it('checks the URL scheme and host', () => {
    expect(problemsOf({ mqtt: { url: 'http://broker:1883' } })).toEqual([
      'mqtt.url: must start with mqtt://, mqtts://, ws:// or wss:// (got "http://broker:1883")',
    ]);
    expect(problemsOf({ mqtt: { url: 'broker:1883' } })).toEqual([
      'mqtt.url: must be a URL like mqtt://host:1883 or mqtts://host:8883 (got "broker:1883")',
    ]);
    for (const url of ['mqtt://b', 'mqtts://b:8883', 'ws://b/mqtt', 'wss://b:443/mqtt']) {
      expect(problemsOf({ mqtt: { url } })).toEqual([]);
    }
  });

  it('checks the order of alarm levels', () => {
    expect(problemsOf({ alarms: { natTable: { warnClearPct: 90 } } })).toEqual([
      'alarms.natTable.warnClearPct: must be below warnPct (90), or the warning could never clear (got 90)',
    ]);
    expect(problemsOf({ alarms: { natTable: { warnPct: 96 } } })).toEqual([
      'alarms.natTable.warnPct: must not be above critPct (95) (got 96)',
    ]);
    expect(problemsOf({ alarms: { natTable: { critPct: 90 } } })).toEqual([
      'alarms.natTable.critPct: must be above critClearPct (90), or the critical alarm could never clear (got 90)',
    ]);
    expect(problemsOf({ alarms: { natTable: { warnPct: 95, warnClearPct: 94 } } })).toEqual([]);
  });

  it('blames the source that set the value last', () => {
    const file = writeJson(tempDir(), 'config.json', { alarms: { natTable: { warnPct: 80, warnClearPct: 70 } } });
    const { problems } = checkConfig(file, { LANWATCH_ALARMS_NAT_TABLE_WARN_CLEAR_PCT: '85' });
    expect(problems).toEqual([
      {
        source: 'environment',
        path: 'LANWATCH_ALARMS_NAT_TABLE_WARN_CLEAR_PCT',
        message: 'must be below warnPct (80), or the warning could never clear (got 85)',
      },
    ]);
  });

  it('does not judge rules on values it already rejected', () => {
    expect(problemsOf({ alarms: { natTable: { warnPct: 'high', warnClearPct: 92 } } })).toEqual([
      'alarms.natTable.warnPct: must be a percentage from 0 to 100 (got "high")',
    ]);
  });

  it('checks credentials and TLS files', () => {
    const dir = tempDir();
    const pem = writeJson(dir, 'client.pem', 'PEM');
    fs.mkdirSync(path.join(dir, 'ca.d'));
    expect(
      problemsOf({
        mqtt: {
          password: 'hunter2',
          passwordFile: path.join(dir, 'missing-pw'),
          ca: path.join(dir, 'ca.d'),
          cert: pem,
          key: null,
        },
      }),
    ).toEqual([
      'mqtt.passwordFile: cannot be used together with password; keep one of them',
      'mqtt.cert: needs key as well: a client certificate is useless without its private key',
      `mqtt.passwordFile: file ${path.join(dir, 'missing-pw')} does not exist`,
      `mqtt.ca: ${path.join(dir, 'ca.d')} is a directory; expected a file`,
    ]);
    expect(problemsOf({ mqtt: { key: pem } })).toEqual([
      'mqtt.key: needs cert as well: a private key is useless without its client certificate',
    ]);
    expect(problemsOf({ mqtt: { cert: pem, key: pem, ca: pem, passwordFile: pem } })).toEqual([]);
    expect(problemsOf({ mqtt: { key: 'client.key', cert: 'client.pem' } })).toEqual([
      'mqtt.key: must be an absolute path to a file (got "client.key")',
      'mqtt.cert: must be an absolute path to a file (got "client.pem")',
    ]);
  });

  it('reports problems from the file and the environment together', () => {
    const file = writeJson(tempDir(), 'config.json', { sampleIntervalMs: 5 });
    const result = checkConfig(file, { LANWATCH_SAMPLE_INTERVAL_MS: 'fast' });
    expect(result.config).toBeNull();
    expect(result.problems).toEqual([
      { source: file, path: 'sampleIntervalMs', message: 'must be between 100 and 60000 (got 5)' },
      {
        source: 'environment',
        path: 'LANWATCH_SAMPLE_INTERVAL_MS',
        message: 'must be a whole number of milliseconds (got "fast")',
      },
    ]);
  });

  it('keeps the layers for merging in a board profile later', () => {
    const file = writeJson(tempDir(), 'config.json', { board: 'pi-router' });
    expect(checkConfig(file, { LANWATCH_LOG_LEVEL: 'debug' }).layers).toEqual({
      file: { board: 'pi-router' },
      env: { log: { level: 'debug' } },
    });
  });
});

describe('formatProblems', () => {
  it('groups by source and ends with a summary', () => {
    const problems: ConfigProblem[] = [
      { source: '/etc/lanwatch/config.json', path: 'mqtt.url', message: 'must be a string (got 1883)' },
      { source: 'environment', path: 'LANWATCH_LOG_LEVEL', message: 'must be one of … (got "x")' },
      { source: '/etc/lanwatch/config.json', path: 'sampleIntervalMs', message: 'must be between 100 and 60000 (got 5)' },
    ];
    expect(formatProblems(problems)).toBe(
      [
        '/etc/lanwatch/config.json:',
        '  mqtt.url: must be a string (got 1883)',
        '  sampleIntervalMs: must be between 100 and 60000 (got 5)',
        'environment (LANWATCH_* variables):',
        '  LANWATCH_LOG_LEVEL: must be one of … (got "x")',
        '3 problems (2 in /etc/lanwatch/config.json, 1 in the environment); the agent will not start until they are fixed.',
        '',
      ].join('\n'),
    );
  });

  it('names the file for problems with the file as a whole', () => {
    const dir = tempDir();
    const file = writeJson(dir, 'config.json', '{\n  "a": 1,\n}');
    const text = formatProblems(checkConfig(file, {}).problems);
    expect(text).toBe(
      [
        `${file}:`,
        '  config.json: not valid JSON: Unexpected token } at line 3 column 1 (JSON allows no comma before a closing bracket)',
        `1 problem in ${file}; the agent will not start until it is fixed.`,
        '',
      ].join('\n'),
    );
  });

  it('says "2 problems in FILE" for one source', () => {
    const source = '/etc/lanwatch/config.json';
    const text = formatProblems([
      { source, path: 'a', message: 'x' },
      { source, path: 'b', message: 'y' },
    ]);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '2 problems in /etc/lanwatch/config.json; the agent will not start until they are fixed.',
    );
  });

  it('never shows a password', () => {
    const secret = 'S3cr3t-pa55';
    const file = writeJson(tempDir(), 'config.json', {
      mqtt: { password: secret, passwordFile: '/nonexistent/pw', url: `mqtt://ha:${secret}@broker:1883/x` },
      bogus: secret,
    });
    const badType = writeJson(tempDir(), 'config.json', { mqtt: { password: 12345678, url: `http://u:${secret}@b` } });
    const text = [
      formatProblems(checkConfig(file, { LANWATCH_MQTT_PASSWORD: secret, LANWATCH_MQTT_PASSWROD: secret }).problems),
      formatProblems(checkConfig(badType, { LANWATCH_MQTT_URL: `ftp://u:${secret}@b` }).problems),
      formatProblems(checkConfig(badType, { LANWATCH_MQTT_URL: `u:${secret}@b` }).problems),
    ].join('\n');
    expect(text).toContain('mqtt.password');
    expect(text).toContain('(value hidden)');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('12345678');
  });
});

describe('redactConfig', () => {
  it('hides the password and URL credentials and leaves the original alone', () => {
    const file = writeJson(tempDir(), 'config.json', {
      mqtt: { username: 'ha', password: 'hunter2', url: 'mqtt://ha:hunter2@broker:1883' },
    });
    const config = checkConfig(file, {}).config;
    if (config === null) throw new Error('expected a valid config');
    const shown = redactConfig(config);
    expect(shown.mqtt.password).toBe('(hidden)');
    expect(shown.mqtt.url).toBe('mqtt://ha:(hidden)@broker:1883');
    expect(JSON.stringify(shown)).not.toContain('hunter2');
    expect(config.mqtt.password).toBe('hunter2');
    expect(redactConfig(DEFAULT_CONFIG).mqtt.password).toBeNull();
  });
});
