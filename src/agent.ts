/**
 * `agent run`: wires config, HAL, board profile, sampler, alarms and the sinks (status socket,
 * MQTT, the optional Prometheus endpoint), and shuts them down in order on SIGTERM/SIGINT.
 * The only module that picks a HAL backend.
 */
import fs from 'node:fs';
import type { Server } from 'node:net';
import { AlarmEngine, natTableInput, natTableSpec, type AlarmEvent } from './alarms/index.ts';
import { detectBoard, type BoardDetection } from '../board/detect.ts';
import { resolveBoard, UnknownBoardProfileError, type BoardResolution } from '../board/resolve.ts';
import { DemoHal, DEMO_BOARD_MODEL } from '../hal/fake/demo.ts';
import type { Hal } from '../hal/index.ts';
import { createLinuxHal } from '../hal/linux/index.ts';
import { defaultRouteInterfaces } from '../hal/procfs/routes.ts';
import { checkConfig, DEFAULT_CONFIG, formatProblems, mergeConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { startMetricsEndpoint } from './metrics/endpoint.ts';
import { agentIdentity, createMqttSink, describeDevice, primaryMac } from './mqtt/index.ts';
import type { ConnectFunction } from './mqtt/connection.ts';
import { loopAlarmInput, loopAlarmSpec, stormAlarmInput, stormAlarmSpec } from './detect/index.ts';
import { layerSets } from './config/merge.ts';
import { addNatPressureAlarms } from './natwatch/natAlarms.ts';
import { NatWatch } from './natwatch/natWatch.ts';
import { PortWatch } from './portwatch/portWatch.ts';
import { Sampler } from './sampler/sampler.ts';
import { buildSnapshot, type SnapshotContext } from './status/snapshot.ts';
import type { MetricsEndpointStatus, StatusSnapshot } from './status/types.ts';
import { defaultSocketPath } from './status/socketPath.ts';
import { startStatusServer, StatusServerError } from './status/server.ts';
import { VERSION } from './version.ts';

export interface RunOptions {
  /** undefined = $LANWATCH_CONFIG or /etc/lanwatch/config.json. */
  configPath: string | undefined;
  demo: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * What tests (and only tests) replace: the HAL, the board facts, the MQTT client factory and
 * the timing of HA's birth answer and reconnects. The agent itself always uses the defaults.
 */
export interface AgentDependencies {
  hal?: Hal;
  detect?: () => Promise<{ detection: BoardDetection; routes: string[] }>;
  mqttConnect?: ConnectFunction;
  mqttTuning?: { birthDelayMs?: { min: number; max: number }; initialDelayMs?: number; maxDelayMs?: number };
}

/** A running agent. `stop()` is the clean shutdown SIGTERM triggers. */
export interface RunningAgent {
  readonly socketPath: string;
  snapshot(): StatusSnapshot;
  readonly alarms: AlarmEngine;
  readonly sampler: Sampler;
  /** `reason` is logged ("SIGTERM"). Idempotent. */
  stop(reason?: string): Promise<void>;
}

const EXIT_CONFIG = 2;
/** Interface changes come in bursts (a bridge and its ports); re-resolve roles once. */
const ROLE_RESOLVE_DEBOUNCE_MS = 1000;

async function pickHal(demo: boolean, log: Logger, config: Config): Promise<Hal> {
  if (demo) return new DemoHal();
  return createLinuxHal({
    log: { warn: (message) => log.warn(message), info: (message) => log.info(message), debug: (message) => log.debug(message) },
    conntrackResyncIntervalMs: config.nat.resyncIntervalMs,
  });
}

async function detect(demo: boolean): Promise<{ detection: BoardDetection; routes: string[] }> {
  if (demo) {
    return {
      detection: { family: 'rpi4', model: DEMO_BOARD_MODEL, source: 'device-tree' } as BoardDetection,
      routes: ['eth0'],
    };
  }
  return { detection: await detectBoard('/'), routes: await defaultRouteInterfaces('/') };
}

/** Seeds the node id on a box with no MAC at all (rare: a container); stable across restarts. */
function machineId(): string {
  try {
    return fs.readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    return '';
  }
}

function logAlarm(log: Logger, event: AlarmEvent): void {
  const { state } = event;
  const fields = { alarm: event.name, kind: event.kind, severity: state.severity, value: state.value, peak: state.peak };
  if (event.kind === 'cleared' || event.kind === 'updated') log.info(fields, `alarm ${event.name} ${event.kind}: ${state.reason}`);
  else log.warn(fields, `alarm ${event.name} ${event.kind} (${state.severity}): ${state.reason}`);
}

/** Starts everything; returns an exit code instead when the agent cannot start. */
export async function startAgent(options: RunOptions, deps: AgentDependencies = {}): Promise<RunningAgent | number> {
  const checked = checkConfig(options.configPath, options.env);
  if (checked.problems.length > 0 || !checked.config) {
    process.stderr.write(formatProblems(checked.problems));
    return EXIT_CONFIG;
  }
  let config: Config = checked.config;
  const log = createLogger(config.log.level, config.log.format);
  const startedAtMono = performance.now();
  const detectNow = deps.detect ?? (() => detect(options.demo));

  const hal = deps.hal ?? (await pickHal(options.demo, log, config));
  let closeWatch: (() => Promise<void>) | null = null;
  // Undoes what start-up did (the nft tables, the sockets), also when the agent cannot go on.
  const releaseHal = async (): Promise<void> => {
    await closeWatch?.();
    await hal.ports?.close().catch((error: unknown) => log.warn({ err: error }, 'port counters: could not remove our nftables table'));
    await hal.probe?.close();
    hal.close();
  };
  try {
    await hal.inventory.start();
  } catch (error) {
    await releaseHal();
    throw new Error(`cannot read the interface list: ${(error as Error).message}`);
  }
  for (const [name, source] of [['inventory', hal.inventory], ['links', hal.linkStats], ['conntrack', hal.conntrack]] as const) {
    log.info({ source: name, backend: source.status.backend }, `${name}: ${source.status.backend} — ${source.status.detail}`);
  }

  const { detection, routes } = await detectNow();
  let board: BoardResolution;
  try {
    board = resolveBoard({
      detection,
      board: config.board,
      links: [...hal.inventory.links.values()],
      defaultRoutes: routes,
      interfaces: config.interfaces,
    });
  } catch (error) {
    if (!(error instanceof UnknownBoardProfileError)) throw error;
    await releaseHal();
    process.stderr.write(formatProblems([{ source: checked.path, path: error.path, message: error.message }]));
    return EXIT_CONFIG;
  }
  // The profile's defaults sit between the built-in defaults and the user's settings.
  config = mergeConfig(DEFAULT_CONFIG, board.profile.defaults, checked.layers.file, checked.layers.env);
  log.info({ board: board.profile.id, model: detection.model }, `board: ${board.profile.name} (${board.profile.id})`);
  for (const reason of board.reasons) log.info(`board: ${reason}`);

  const sampler = new Sampler(hal, { intervalMs: config.sampleIntervalMs, log: { warn: (m) => log.warn(m), info: (m) => log.info(m) } });

  const portWatch = new PortWatch({
    hal,
    sampler,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), debug: (m) => log.debug(m) },
    storm: {
      absoluteRaisePps: config.alarms.storm.raisePps,
      baselineRaiseFactor: config.alarms.storm.baselineFactor,
      baselineFloorPps: config.alarms.storm.baselineFloorPps,
      warmupMs: config.alarms.storm.baselineWarmupMs,
      // The baseline rule clears at 5× the baseline, or half the raise factor when that is lower.
      baselineClearFactor: Math.min(5, config.alarms.storm.baselineFactor / 2),
    },
    loop: {
      flapMoves: config.alarms.loop.flapMoves,
      flapWindowMs: config.alarms.loop.flapWindowMs,
      quietMs: config.alarms.loop.quietMs,
    },
    protection: { enabled: config.loop.protect, holdDownMs: config.loop.holdDownMs, sshPorts: config.loop.sshPorts },
  });
  closeWatch = () => portWatch.close();
  // Installs the port counters before the first tick, so the first sample already has them.
  await portWatch.setRoles(board);
  await portWatch.startProtection();

  const natWatch = new NatWatch({
    hal,
    sampler,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
    upstreamBudget: config.nat.upstreamBudget,
    basis: board.profile.role === 'bridge' ? 'bridge' : 'router',
  });
  if (config.nat.upstreamBudget !== null && !layerSets(checked.layers.file, ['nat', 'upstreamBudget']) && !layerSets(checked.layers.env, ['nat', 'upstreamBudget'])) {
    log.info(
      `nat: assuming the device upstream tracks at most ${config.nat.upstreamBudget} sessions (the ${board.profile.id} profile's guess); ` +
        'set nat.upstreamBudget to its real limit',
    );
  }

  const alarms = new AlarmEngine(log);
  const natSpec = natTableSpec(config.alarms.natTable);
  if (natSpec !== null) alarms.add(natSpec, natTableInput(sampler));
  addNatPressureAlarms(alarms, natWatch, config.alarms, config.nat.upstreamBudget);
  if (config.alarms.storm.enabled) alarms.add(stormAlarmSpec(), stormAlarmInput(portWatch.storm));
  if (config.alarms.loop.enabled) alarms.add(loopAlarmSpec(), loopAlarmInput(portWatch.loop, portWatch.loopExtras));
  alarms.onEvent((event) => logAlarm(log, event));
  // Every tick, after the sample is committed: the detectors first, then the alarms that read
  // them. Allocation-free unless an alarm changes.
  sampler.onSample(portWatch.onSample);
  sampler.onSample(natWatch.onSample);
  sampler.onSample(() => alarms.evaluate(sampler.sampledAt));

  let metricsStatus: MetricsEndpointStatus = { url: null, error: null };
  const context: SnapshotContext = {
    sampler,
    hal,
    startedAtMono,
    roles: board,
    alarms: () => alarms.states(),
    // Read only once the status server runs, which starts after mqttSink exists.
    mqtt: () => mqttSink.status(),
    prometheus: () => metricsStatus,
    portWatch: () => portWatch.status(),
    nat: () => natWatch.statusFields(),
    probeIntervalMs: config.loop.probeIntervalMs,
    agent: {
      version: VERSION,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      board: {
        id: board.profile.id,
        name: board.profile.name,
        role: board.profile.role,
        model: detection.model,
        reasons: board.reasons,
      },
      demo: options.demo,
      configFile: checked.found ? checked.path : null,
      sampleIntervalMs: config.sampleIntervalMs,
    },
  };
  const snapshot = (): StatusSnapshot => buildSnapshot(context);

  const identity = agentIdentity(primaryMac(hal.inventory.links.values(), board.wan), config.mqtt.nodeId, machineId());
  const mqttSink = createMqttSink({
    config: config.mqtt,
    identity,
    device: describeDevice(options.demo ? `${DEMO_BOARD_MODEL} (lanwatch demo)` : detection.model),
    agentVersion: VERSION,
    snapshot,
    alarms: () => alarms.states(),
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), debug: (m) => log.debug(m) },
    connect: deps.mqttConnect,
    tuning: deps.mqttTuning,
  });
  alarms.onEvent((event) => mqttSink.onAlarm(event));

  let resolveTimer: NodeJS.Timeout | null = null;
  hal.inventory.onChange((event, link) => {
    log.info({ event, link: link.name, index: link.index }, `interface ${link.name} ${event}`);
    if (resolveTimer) return;
    resolveTimer = setTimeout(() => {
      resolveTimer = null;
      // Roles follow the hardware (a USB NIC plugged in later becomes the LAN). A failure
      // here keeps the previous roles: it must never take the agent down.
      detectNow()
        .then((fresh) => {
          board = resolveBoard({
            detection: fresh.detection,
            board: config.board,
            links: [...hal.inventory.links.values()],
            defaultRoutes: fresh.routes,
            interfaces: config.interfaces,
          });
          context.roles = board;
          context.agent.board.reasons = board.reasons;
          hal.probe?.refresh();
          return portWatch.setRoles(board);
        })
        .then(() => mqttSink.refreshDiscovery())
        .catch((error: unknown) => log.warn({ err: error }, 'board: could not re-resolve interface roles'));
    }, ROLE_RESOLVE_DEBOUNCE_MS);
  });

  const socketPath = config.statusSocket ?? defaultSocketPath(options.env);

  let server: Server;
  try {
    server = await startStatusServer(socketPath, snapshot);
  } catch (error) {
    await releaseHal();
    if (error instanceof StatusServerError) {
      log.error(error.message);
      return 1;
    }
    throw error;
  }

  const metrics = await startMetricsEndpoint(
    config.prometheus,
    {
      sampler,
      roles: () => context.roles,
      alarms: () => alarms.states(),
      agent: { version: VERSION, startedAtMono },
      mqtt: () => {
        const s = mqttSink.status();
        return s.enabled ? { connected: s.state === 'connected', messagesSent: s.messagesSent, bytesSent: s.bytesSent } : null;
      },
    },
    { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
  );
  metricsStatus = metrics.status;

  sampler.start();
  natWatch.start();
  portWatch.startProbe(config.loop.probeIntervalMs);
  mqttSink.start();
  log.info({ socket: socketPath, intervalMs: config.sampleIntervalMs }, `sampling every ${config.sampleIntervalMs} ms; status on ${socketPath}`);

  let stopped: Promise<void> | null = null;
  const stop = (reason = 'stop requested'): Promise<void> => {
    stopped ??= (async () => {
      log.info(`${reason}: stopping`);
      if (resolveTimer) clearTimeout(resolveTimer);
      sampler.stop();
      natWatch.close();
      // First the retained `offline`, while the rest still works; bounded by its own timeout.
      await mqttSink.stop().catch((error: unknown) => log.warn({ err: error }, 'mqtt: unclean shutdown'));
      await metrics.close().catch(() => {});
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await releaseHal();
    })();
    return stopped;
  };
  return { socketPath, snapshot, alarms, sampler, stop };
}

export async function runAgent(options: RunOptions): Promise<number> {
  const agent = await startAgent(options);
  if (typeof agent === 'number') return agent;
  return new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      agent
        .stop(signal)
        .catch(() => {})
        .finally(() => resolve(0));
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
