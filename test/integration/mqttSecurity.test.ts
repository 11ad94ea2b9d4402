// Brokers that ask for something: TLS with a client certificate, and a password. A real
// Mosquitto with certificates made by openssl for this run, and a real password file made by
// mosquitto_passwd. A wrong CA or a wrong password must leave the agent running and saying why.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardDetection } from '../../board/detect.ts';
import { FakeHal } from '../../hal/fake/fakeHal.ts';
import { startAgent, type RunningAgent } from '../../src/agent.ts';
import { retainedSnapshot } from '../broker/client.ts';
import { freePort, requireMosquitto, startBroker, stopAllBrokers, type Broker } from '../broker/mosquitto.ts';
import { until } from '../broker/until.ts';

const skip = requireMosquitto();


function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, ca: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=lanwatch test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`);
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by it. */
function makeCertificates(dir: string, ca: string): void {
  makeCa(dir, ca);
  for (const [name, extra] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `${extra}\n`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
}


describe.skipIf(skip)('MQTT with TLS and passwords', () => {
  let dir: string;
  const brokers: Broker[] = [];
  const agents: RunningAgent[] = [];

  async function agentWith(name: string, mqtt: Record<string, unknown>): Promise<RunningAgent> {
    const configPath = join(dir, `${name}.json`);
    writeFileSync(configPath, JSON.stringify({ statusSocket: join(dir, `${name}.sock`), mqtt: { nodeId: name, ...mqtt }, log: { level: 'fatal' } }));
    const hal = new FakeHal();
    hal.addLink({ index: 2, name: 'eth0', mac: 'dc:a6:32:00:5e:01' });
    const started = await startAgent(
      { configPath, demo: false, env: {} },
      {
        hal,
        detect: async () => ({ detection: { family: 'generic', model: null, source: 'none' } as BoardDetection, routes: ['eth0'] }),
        mqttTuning: { initialDelayMs: 100, maxDelayMs: 400 },
      },
    );
    if (typeof started === 'number') throw new Error(`agent refused to start: exit ${started}`);
    agents.push(started);
    return started;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lanwatch-mqtt-security-'));
    makeCertificates(dir, 'ca');
    makeCa(dir, 'other-ca'); // a CA the broker's certificate was not signed by
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    for (const broker of brokers) await broker.cleanup();
    await stopAllBrokers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects over TLS with a client certificate; refuses a broker its CA did not sign', async () => {
    const plain = await freePort();
    // The harness's listener becomes TLS with a required client certificate; a second, plain
    // listener lets the test watch what arrives.
    const broker = await startBroker({
      extraConfig: [
        `cafile ${join(dir, 'ca.pem')}`,
        `certfile ${join(dir, 'server.pem')}`,
        `keyfile ${join(dir, 'server.key')}`,
        'require_certificate true',
        `listener ${plain} 127.0.0.1`,
      ],
    });
    brokers.push(broker);
    const tlsUrl = `mqtts://localhost:${broker.port}`;

    const good = await agentWith('tlsgood', { url: tlsUrl, ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') });
    await until('the TLS agent to connect', () => (good.snapshot().mqtt.state === 'connected' ? true : undefined)).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(good.snapshot().mqtt)}\n${broker.log().slice(-1500)}`);
    });
    const retained = await retainedSnapshot(`mqtt://127.0.0.1:${plain}`, 'lanwatch/tlsgood/availability');
    expect(retained.get('lanwatch/tlsgood/availability')).toBe('online');

    const wrongCa = await agentWith('tlsbad', { url: tlsUrl, ca: join(dir, 'other-ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') });
    const status = await until('the wrong-CA agent to fail', () => {
      const s = wrongCa.snapshot().mqtt;
      return s.state === 'waiting' && s.lastError !== null ? s : undefined;
    });
    expect(status.lastError).toMatch(/certificate/i);
    expect(wrongCa.snapshot().agent.ticks).toBeGreaterThan(0);
  });

  it('logs in with a password file; a wrong password leaves it retrying and saying why', async () => {
    const passwords = join(dir, 'mosquitto.passwd');
    execFileSync('mosquitto_passwd', ['-b', '-c', passwords, 'lanwatch', 'right horse battery'], { stdio: 'ignore' });
    const broker = await startBroker({ extraConfig: ['allow_anonymous false', `password_file ${passwords}`] });
    brokers.push(broker);
    const goodFile = join(dir, 'good-password');
    const badFile = join(dir, 'bad-password');
    writeFileSync(goodFile, 'right horse battery\n', { mode: 0o600 });
    writeFileSync(badFile, 'wrong\n', { mode: 0o600 });

    const good = await agentWith('pwgood', { url: broker.url, username: 'lanwatch', passwordFile: goodFile });
    await until('the password agent to connect', () => (good.snapshot().mqtt.state === 'connected' ? true : undefined));
    const observer = `mqtt://lanwatch:${encodeURIComponent('right horse battery')}@127.0.0.1:${broker.port}`;
    expect((await retainedSnapshot(observer, 'lanwatch/pwgood/availability')).get('lanwatch/pwgood/availability')).toBe('online');

    const bad = await agentWith('pwbad', { url: broker.url, username: 'lanwatch', passwordFile: badFile });
    const status = await until('the wrong-password agent to fail', () => {
      const s = bad.snapshot().mqtt;
      return s.state === 'waiting' && s.lastError !== null ? s : undefined;
    });
    expect(status.lastError).toMatch(/not authori[sz]ed|bad user name or password/i);
    expect(JSON.stringify(bad.snapshot())).not.toContain('wrong');
    expect(good.snapshot().mqtt.state).toBe('connected');
  });
});
