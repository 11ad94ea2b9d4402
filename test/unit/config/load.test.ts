import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { isRoot, useTempDirs, writeJson } from './tmp.ts';

const tempDir = useTempDirs();

describe('loadConfigFile', () => {
  it('treats a missing file as all defaults, and creates nothing', () => {
    const dir = tempDir();
    const missingDir = path.join(dir, 'etc', 'lanwatch');
    const result = loadConfigFile(path.join(missingDir, 'config.json'));
    expect(result).toEqual({ layer: {}, problems: [], rejected: [], found: false });
    expect(fs.existsSync(missingDir)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('reads a valid file and never writes it or its directory', () => {
    const dir = tempDir();
    // Deliberately not how Conf would serialise it (tabs, key order), so a rewrite would show.
    const text = '{ "sampleIntervalMs": 250,\n  "mqtt": {"url": "mqtts://broker:8883"} }\n';
    const file = writeJson(dir, 'config.json', text);
    const old = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(file, old, old);
    fs.chmodSync(dir, 0o500); // read-only like /etc on a router: any write or temp file would fail

    const result = loadConfigFile(file);

    fs.chmodSync(dir, 0o700);
    expect(result.problems).toEqual([]);
    expect(result.found).toBe(true);
    expect(result.layer).toEqual({ sampleIntervalMs: 250, mqtt: { url: 'mqtts://broker:8883' } });
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).mtime.getTime()).toBe(old.getTime());
    expect(fs.readdirSync(dir)).toEqual(['config.json']);
  });

  it('reads files with other names and no extension', () => {
    const dir = tempDir();
    expect(loadConfigFile(writeJson(dir, 'lanwatch.conf.json', { board: 'pi-router' })).layer).toEqual({ board: 'pi-router' });
    expect(loadConfigFile(writeJson(dir, 'lanwatchrc', { board: 'generic' })).layer).toEqual({ board: 'generic' });
    expect(loadConfigFile(writeJson(dir, 'odd.', { board: 'pi-bridge' })).layer).toEqual({ board: 'pi-bridge' });
  });

  it('reports a JSON syntax error with line and column, and no layer', () => {
    const dir = tempDir();
    const file = writeJson(dir, 'config.json', '{\n  "a": 1,\n  "b": 2,\n  }\n');
    const result = loadConfigFile(file);
    expect(result.layer).toEqual({});
    expect(result.problems).toEqual([
      {
        source: file,
        path: '',
        message:
          'not valid JSON: Unexpected token } at line 4 column 3 (JSON allows no comma before a closing bracket)',
      },
    ]);
  });

  it('accepts a byte order mark and reports an empty file', () => {
    const dir = tempDir();
    expect(loadConfigFile(writeJson(dir, 'bom.json', '\uFEFF{"board":"auto"}')).problems).toEqual([]);
    expect(loadConfigFile(writeJson(dir, 'empty.json', ' \n')).problems[0]?.message).toBe(
      'is empty; expected a JSON object ({} for all defaults)',
    );
  });

  it('reports a directory at the path', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'config.json'));
    const result = loadConfigFile(path.join(dir, 'config.json'));
    expect(result.found).toBe(true);
    expect(result.problems).toEqual([
      { source: path.join(dir, 'config.json'), path: '', message: 'is a directory; expected a JSON file' },
    ]);
  });

  it('reports a file it may not read', () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    const file = writeJson(dir, 'config.json', {});
    fs.chmodSync(file, 0o000);
    if (!isRoot) {
      expect(loadConfigFile(file).problems).toEqual([
        { source: file, path: '', message: 'cannot be read: permission denied' },
      ]);
      return;
    }
    // Root reads anything, so ask as nobody, the way an unprivileged agent meets the file.
    const agentBin = fileURLToPath(new URL('../../../bin/agent.js', import.meta.url));
    const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, agentBin, 'config', 'check', file], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config.json: cannot be read: permission denied');
  });

  it('reports a top level that is not an object', () => {
    const dir = tempDir();
    const file = writeJson(dir, 'config.json', '[1, 2]');
    expect(loadConfigFile(file).problems).toEqual([
      { source: file, path: '', message: 'must be a JSON object, {} for all defaults (got [1,2])' },
    ]);
  });

  it('keeps the valid keys of a file with problems', () => {
    const dir = tempDir();
    const file = writeJson(dir, 'config.json', { sampleIntervalMs: 5, board: 'pi-router', mqtt: { url: 1883, baseTopic: 'x' } });
    const result = loadConfigFile(file);
    expect(result.layer).toEqual({ board: 'pi-router', mqtt: { baseTopic: 'x' } });
    expect(result.rejected).toEqual(['sampleIntervalMs', 'mqtt.url']);
  });
});
