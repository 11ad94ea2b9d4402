/**
 * `agent run`: wires config, HAL, board profile, sampler and status socket, and shuts
 * them down in order on SIGTERM/SIGINT. The only module that picks a HAL backend.
 */
import type { Server } from 'node:net';
import { detectBoard, type BoardDetection } from '../board/detect.ts';
import { resolveBoard, UnknownBoardProfileError, type BoardResolution } from '../board/resolve.ts';
import { DemoHal, DEMO_BOARD_MODEL } from '../hal/fake/demo.ts';
import type { Hal } from '../hal/index.ts';
import { createLinuxHal } from '../hal/linux/index.ts';
import { defaultRouteInterfaces } from '../hal/procfs/routes.ts';
import { checkConfig, DEFAULT_CONFIG, formatProblems, mergeConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { Sampler } from './sampler/sampler.ts';
import { buildSnapshot, type SnapshotContext } from './status/snapshot.ts';
import { defaultSocketPath } from './status/socketPath.ts';
import { startStatusServer, StatusServerError } from './status/server.ts';
import { VERSION } from './version.ts';

export interface RunOptions {
  /** undefined = $LANWATCH_CONFIG or /etc/lanwatch/config.json. */
  configPath: string | undefined;
  demo: boolean;
  env: NodeJS.ProcessEnv;
}

const EXIT_CONFIG = 2;
/** Interface changes come in bursts (a bridge and its ports); re-resolve roles once. */
const ROLE_RESOLVE_DEBOUNCE_MS = 1000;

async function pickHal(demo: boolean, log: Logger): Promise<Hal> {
  if (demo) return new DemoHal();
  return createLinuxHal({ log: { warn: (message) => log.warn(message) } });
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

export async function runAgent(options: RunOptions): Promise<number> {
  const checked = checkConfig(options.configPath, options.env);
  if (checked.problems.length > 0 || !checked.config) {
    process.stderr.write(formatProblems(checked.problems));
    return EXIT_CONFIG;
  }
  let config: Config = checked.config;
  const log = createLogger(config.log.level, config.log.format);
  const startedAtMono = performance.now();

  const hal = await pickHal(options.demo, log);
  try {
    await hal.inventory.start();
  } catch (error) {
    hal.close();
    throw new Error(`cannot read the interface list: ${(error as Error).message}`);
  }
  for (const [name, source] of [['inventory', hal.inventory], ['links', hal.linkStats], ['conntrack', hal.conntrack]] as const) {
    log.info({ source: name, backend: source.status.backend }, `${name}: ${source.status.backend} — ${source.status.detail}`);
  }

  const { detection, routes } = await detect(options.demo);
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
    hal.close();
    process.stderr.write(formatProblems([{ source: checked.path, path: error.path, message: error.message }]));
    return EXIT_CONFIG;
  }
  // The profile's defaults sit between the built-in defaults and the user's settings.
  config = mergeConfig(DEFAULT_CONFIG, board.profile.defaults, checked.layers.file, checked.layers.env);
  log.info({ board: board.profile.id, model: detection.model }, `board: ${board.profile.name} (${board.profile.id})`);
  for (const reason of board.reasons) log.info(`board: ${reason}`);

  const sampler = new Sampler(hal, { intervalMs: config.sampleIntervalMs, log: { warn: (m) => log.warn(m), info: (m) => log.info(m) } });

  let resolveTimer: NodeJS.Timeout | null = null;
  hal.inventory.onChange((event, link) => {
    log.info({ event, link: link.name, index: link.index }, `interface ${link.name} ${event}`);
    if (resolveTimer) return;
    resolveTimer = setTimeout(() => {
      resolveTimer = null;
      // Roles follow the hardware (a USB NIC plugged in later becomes the LAN). A failure
      // here keeps the previous roles: it must never take the agent down.
      detect(options.demo)
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
        })
        .catch((error: unknown) => log.warn({ err: error }, 'board: could not re-resolve interface roles'));
    }, ROLE_RESOLVE_DEBOUNCE_MS);
  });

  const context: SnapshotContext = {
    sampler,
    hal,
    startedAtMono,
    roles: board,
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

  const socketPath = config.statusSocket ?? defaultSocketPath(options.env);
  let server: Server;
  try {
    server = await startStatusServer(socketPath, () => buildSnapshot(context));
  } catch (error) {
    hal.close();
    if (error instanceof StatusServerError) {
      log.error(error.message);
      return 1;
    }
    throw error;
  }
  sampler.start();
  log.info({ socket: socketPath, intervalMs: config.sampleIntervalMs }, `sampling every ${config.sampleIntervalMs} ms; status on ${socketPath}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: stopping`);
      if (resolveTimer) clearTimeout(resolveTimer);
      sampler.stop();
      server.close();
      hal.close();
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      resolve(0);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
