// The agent as the broker tests run it: in this process, on a scripted HAL (the kernel side is
// covered by the lab tests), on a generic board whose default route is eth0, with Home
// Assistant's birth answer and the reconnects shortened so the tests are quick.
import { rmSync } from 'node:fs';
import type { BoardDetection } from '../../board/detect.ts';
import type { Hal } from '../../hal/index.ts';
import { startAgent, type RunningAgent } from '../../src/agent.ts';
import type { Recorder } from '../broker/client.ts';
import { stopAllBrokers, type Broker } from '../broker/mosquitto.ts';

export async function startTestAgent(configPath: string, hal: Hal): Promise<RunningAgent> {
  const started = await startAgent(
    { configPath, demo: false, env: {} },
    {
      hal,
      detect: async () => ({ detection: { family: 'generic', model: 'Test Box', source: 'none' } as BoardDetection, routes: ['eth0'] }),
      mqttTuning: { birthDelayMs: { min: 50, max: 150 }, initialDelayMs: 100, maxDelayMs: 400 },
    },
  );
  if (typeof started === 'number') throw new Error(`agent refused to start: exit ${started}`);
  return started;
}

/** What a broker test started, stopped in order; fine when its beforeAll failed half way. */
export async function stopTestParts(parts: { agent?: RunningAgent; watcher?: Recorder; broker?: Broker; dir?: string }): Promise<void> {
  await parts.agent?.stop();
  await parts.watcher?.end();
  await parts.broker?.cleanup();
  await stopAllBrokers();
  if (parts.dir) rmSync(parts.dir, { recursive: true, force: true });
}
