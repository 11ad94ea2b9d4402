/**
 * The `ports` source of tickBench.ts: the tick as src/agent.ts wires it on a LAN bridge, run
 * inside the bench's bridge namespace (br0 with 8 veth ports, see tickSection.ts).
 *
 * createLinuxHal as the agent calls it (nftables port counters layered with ethtool, FDB
 * events, the loop probe), a Sampler, PortWatch with the plan for br0 (this installs
 * `table bridge lanwatch`), the storm and loop detectors, loop protection at its default (off:
 * the runner exists and ticks, the guard is never installed), and the AlarmEngine with
 * nat_table, storm and loop registered in the agent's order. The detectors run with their own
 * defaults (storm: {}, loop: {}): settings change thresholds, not the work of a quiet tick.
 *
 * One deliberate difference: the probe. The agent sends it once a second, 150 ms before the
 * tick; BroadcastProbe refuses a second send within 100 ms (minIntervalMs), and this bench
 * runs ticks back to back, so the HAL's probe would skip ~999 sends in 1000 and the figures
 * would hide its cost. The HAL's probe is replaced by the same class with minIntervalMs 0,
 * so every tick's send really reaches the kernel (checked: `probe.sent` equals the sends).
 */
import type { Hal } from '../../hal/index.ts';
import { BroadcastProbe } from '../../hal/linux/broadcastProbe.ts';
import { createLinuxHal } from '../../hal/linux/index.ts';
import { AlarmEngine, natTableInput, natTableSpec } from '../../src/alarms/index.ts';
import { DEFAULT_CONFIG } from '../../src/config/schema.ts';
import { loopAlarmInput, loopAlarmSpec, stormAlarmInput, stormAlarmSpec } from '../../src/detect/index.ts';
import { PortWatch } from '../../src/portwatch/portWatch.ts';
import { Sampler } from '../../src/sampler/sampler.ts';
import { addNatWatch } from './natTick.ts';

export const BENCH_BRIDGE = 'br0';

export interface PortsTick {
  hal: Hal;
  sampler: Sampler;
  probe: BroadcastProbe;
  /** What counts each bridge port ("nftables", …), as `agent status` would say. */
  counted: Record<string, string | null>;
  /** Alarm events (raised, cleared, updated) during the run: a quiet bench has none. */
  alarmEvents(): number;
  /** Removes the nft table and closes every socket. */
  close(): Promise<void>;
}

/** Everything quiet except warnings, which would mean the bench measures a degraded agent. */
const warnings: string[] = [];
const log = {
  warn: (m: string) => void warnings.push(m),
  info: () => {},
  debug: () => {},
};

export async function startPortsTick(): Promise<PortsTick> {
  const base = await createLinuxHal({ log });
  const probe = new BroadcastProbe([], { log, minIntervalMs: 0 });
  await base.probe?.close();
  const hal: Hal = { ...base, probe };
  await hal.inventory.start();
  const sampler = new Sampler(hal, { intervalMs: DEFAULT_CONFIG.sampleIntervalMs, log });
  const { protect, holdDownMs, sshPorts } = DEFAULT_CONFIG.loop;
  const portWatch = new PortWatch({ hal, sampler, log, storm: {}, loop: {}, protection: { enabled: protect, holdDownMs, sshPorts } });
  await portWatch.setRoles({ wan: null, lan: [], bridge: BENCH_BRIDGE });
  await portWatch.startProtection();
  // The plan's ports, each with what counts it; none counted means the table did not install.
  const counted: Record<string, string | null> = {};
  for (const port of portWatch.status().counted) counted[port] = hal.ports?.sourceOf(port) ?? null;
  if (!Object.values(counted).some((s) => s !== null)) {
    throw new Error(`port counters not installed: ${warnings.join('; ') || 'no bridge port counted'}`);
  }
  const alarms = new AlarmEngine({ warn: (_o, m) => void warnings.push(m) });
  alarms.add(natTableSpec(DEFAULT_CONFIG.alarms.natTable)!, natTableInput(sampler));
  alarms.add(stormAlarmSpec(), stormAlarmInput(portWatch.storm));
  alarms.add(loopAlarmSpec(), loopAlarmInput(portWatch.loop, portWatch.loopExtras));
  let events = 0;
  alarms.onEvent(() => void events++);
  // The agent's order: detectors first, then the alarms that read them.
  sampler.onSample(portWatch.onSample);
  const natWatch = addNatWatch(hal, sampler, alarms, log);
  sampler.onSample(() => alarms.evaluate(sampler.sampledAt));

  return {
    hal,
    sampler,
    probe,
    counted,
    alarmEvents: () => events,
    // The agent's release order (src/agent.ts releaseHal).
    async close() {
      natWatch.close();
      await portWatch.close();
      await hal.ports?.close();
      await probe.close();
      hal.close();
    },
  };
}

/** Warnings the HAL, PortWatch or the alarm engine logged during the run. */
export function portsTickWarnings(): readonly string[] {
  return warnings;
}
