/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx portGuardProbe.ts`): the
 * real guard, the uplink resolver, and — for the end-to-end test — a small agent made of the
 * real pieces (nftables port counters, LoopProtection, GuardExecutor, NftPortGuard) plus the
 * loop probe. In the namespace, /proc/net and /sys (remounted by `ip netns exec`) are the
 * namespace's own. Protocol, one JSON object per line:
 *   prints {"ready":true}; answers each stdin request with {"seq":N,"ok":true,…} or {"seq":N,"error":"…"}:
 *   {"op":"install"|"close"|"blocked"} / {"op":"block"|"unblock","port":"…"}     the guard
 *   {"op":"resolve","bridge":…,"wan":…,"sshPorts":[…]}                           → "result"
 *   {"op":"protect","bridge":…,"bridgeMac":…,"ports":[…],"tickMs":…,"options":{…},
 *    "wan":…,"sshPorts":[…],"probeTo":"10.89.0.255"}  starts the agent loop; it prints
 *    {"event":"protected",…}, {"event":"action",…} and {"event":"outcome",…} lines
 *   {"op":"status"}                                   → planner status, executor failures, own rates
 *   {"op":"stop"}                                     stops the loop, removes guard and counters
 * Ends without cleaning up when stdin ends: like a crash, tables stay behind.
 */
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { PORT_FIELDS, PORT_OWN_SOURCE, type PortCounterSource } from '../../hal/index.ts';
import { openNftPortCounters } from '../../hal/linux/nftPortCounters.ts';
import { NftPortGuard } from '../../hal/linux/portGuard.ts';
import { resolveUplinkPorts } from '../../hal/linux/uplinkPorts.ts';
import { GuardExecutor } from '../../src/protect/guardExecutor.ts';
import { LoopProtection, type ProtectionPortInput } from '../../src/protect/loopProtection.ts';
import type { LoopProtectionOptions } from '../../src/protect/protectionOptions.ts';

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const guard = new NftPortGuard();

interface ProtectRequest {
  bridge: string;
  bridgeMac: string;
  ports: string[];
  tickMs: number;
  options: Partial<LoopProtectionOptions>;
  wan: string | null;
  sshPorts: number[];
  probeTo: string;
}

interface Agent {
  planner: LoopProtection;
  executor: GuardExecutor;
  own: Record<string, number>;
  stop(): Promise<void>;
}

let agent: Agent | null = null;

async function readNumber(path: string): Promise<number> {
  return parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
}

/** The agent's loop, cut down: counters → own frames per second → planner → executor → guard. */
async function startAgent(request: ProtectRequest): Promise<Agent> {
  const { source, status } = await openNftPortCounters();
  if (!source) throw new Error(status.detail);
  const counters: PortCounterSource = source;
  await counters.apply({ bridge: request.bridge, bridgeMac: request.bridgeMac, ports: request.ports });
  const planner = new LoopProtection({ enabled: true, ...request.options });
  const executor = new GuardExecutor(guard);
  for (const outcome of await executor.start(performance.now())) print({ event: 'outcome', ...outcome });
  const started = performance.now();
  const resolved = await resolveUplinkPorts({ bridge: request.bridge, wan: request.wan, sshPorts: request.sshPorts });
  print({ event: 'protected', mode: planner.setProtected(resolved.ports, started), ports: resolved.ports, notes: resolved.notes });

  const n = request.ports.length;
  const values = new Float64Array(n * PORT_FIELDS);
  const lastOwn = new Float64Array(n).fill(NaN);
  const carrierUps = new Float64Array(n).fill(NaN);
  const carrierUpAt = new Float64Array(n).fill(NaN);
  const own: Record<string, number> = {};
  let lastAt = NaN;
  const probe = createSocket('udp4');
  probe.bind(() => probe.setBroadcast(true));
  let probeAt = -Infinity;
  let busy = false;

  const read = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const sink = { values, slotOfPort: (name: string) => request.ports.indexOf(name), markPortRead: () => {} };
      counters.read(sink, (error) => (error ? reject(error) : resolve()));
    });

  const tick = async (): Promise<void> => {
    const now = performance.now();
    // The agent's loop probe: a broadcast from the bridge every second.
    if (now - probeAt >= 1_000) {
      probeAt = now;
      probe.send('lanwatch-probe', 9, request.probeTo);
    }
    await read();
    const inputs: ProtectionPortInput[] = [];
    for (let i = 0; i < n; i++) {
      const name = request.ports[i]!;
      const count = values[i * PORT_FIELDS + PORT_OWN_SOURCE]!;
      const rate = lastAt === lastAt && lastOwn[i] === lastOwn[i] && count === count ? ((count - lastOwn[i]!) * 1000) / (now - lastAt) : NaN;
      lastOwn[i] = count;
      own[name] = rate;
      // carrier_up_count grows when the carrier comes up: the time of the change is carrierUpAt.
      const ups = await readNumber(`/sys/class/net/${name}/carrier_up_count`);
      // A change after the first tick, or a port that appears later, is a carrier coming up now.
      if (ups === ups && ups !== carrierUps[i]) {
        if (lastAt === lastAt && ups > 0) carrierUpAt[i] = now;
        carrierUps[i] = ups;
      }
      inputs.push({ name, ifindex: await readNumber(`/sys/class/net/${name}/ifindex`), carrierUpAtMs: carrierUpAt[i]!, ownFramesPerS: rate });
    }
    lastAt = now;
    const actions = planner.tick(now, inputs);
    for (const action of actions) print({ event: 'action', atMs: Math.round(now), ...action });
    if (actions.length > 0 || executor.retryDue(now)) {
      for (const outcome of await executor.execute(actions, now)) print({ event: 'outcome', atMs: Math.round(now), ...outcome });
    }
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch((error: Error) => print({ event: 'error', message: error.message }))
      .finally(() => {
        busy = false;
      });
  }, request.tickMs);

  return {
    planner,
    executor,
    own,
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((resolve) => setTimeout(resolve, 10));
      probe.close();
      const closed = await executor.close();
      await counters.close();
      if (!closed.ok) throw new Error(closed.error ?? 'close failed');
    },
  };
}

type Request = { seq: number; op: string; port?: string } & Partial<ProtectRequest>;

async function answer(request: Request): Promise<object> {
  switch (request.op) {
    case 'install':
      await guard.install();
      return {};
    case 'block':
      await guard.block(request.port!);
      return {};
    case 'unblock':
      await guard.unblock(request.port!);
      return {};
    case 'blocked':
      return { ports: await guard.blocked() };
    case 'close':
      await guard.close();
      return {};
    case 'resolve':
      return { result: await resolveUplinkPorts({ bridge: request.bridge ?? null, wan: request.wan ?? null, sshPorts: request.sshPorts }) };
    case 'protect':
      agent = await startAgent(request as ProtectRequest);
      return {};
    case 'status': {
      const now = performance.now();
      if (!agent) throw new Error('not protecting');
      return { status: agent.planner.status(now, Date.now()), failures: agent.executor.failures, own: agent.own, kernel: await guard.blocked() };
    }
    case 'stop':
      await agent?.stop();
      agent = null;
      return {};
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

print({ ready: true });
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as Request;
  answer(request).then(
    (reply) => print({ seq: request.seq, ok: true, ...reply }),
    (error: Error) => print({ seq: request.seq, error: error.message }),
  );
});
// process.exit: the netlink socket and the probe socket keep the event loop alive.
lines.on('close', () => process.exit(0));
