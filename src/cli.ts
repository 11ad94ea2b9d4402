/**
 * The `agent` / `lanwatch` command line.
 *
 * Exit codes: 0 success; 1 the daemon is not running or failed at run time; 2 bad usage
 * or bad configuration (nothing was started). Errors are one clear message, never a
 * stack trace, unless LANWATCH_LOG_LEVEL=debug.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { runAgent } from './agent.ts';
import { checkConfig, formatProblems, redactConfig, resolveConfigPath } from './config.ts';
import { clientSocketCandidates } from './status/socketPath.ts';
import { DaemonUnreachable, findDaemon, requestStatus } from './status/client.ts';
import { renderStatus } from './status/render.ts';
import { runTop } from './status/top.ts';
import { VERSION } from './version.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const defaultConfigPath = (): string => resolveConfigPath(undefined, process.env).path;

const USAGE = `lanwatch ${VERSION} — NAT table and broadcast-storm watch for home routers

usage:
  agent run [--config FILE] [--demo]     run the agent (default config ${defaultConfigPath()}, absent = defaults)
  agent status [--json] [--socket PATH]  show what the running agent sees
  agent top [--socket PATH]              live view of who fills the NAT table (q quits)
  agent config check [FILE]              validate a config file and the LANWATCH_* environment
  agent --version                        print the version

Every config key can be set from the environment as LANWATCH_ + its path in upper snake
case, e.g. LANWATCH_SAMPLE_INTERVAL_MS=500, LANWATCH_MQTT_URL=mqtt://broker:1883.
`;

class UsageError extends Error {}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, socket: { type: 'string' } });
  if (positionals.length) throw new UsageError(`agent status takes no arguments (got ${positionals.join(' ')})`);
  let configured = typeof values.socket === 'string' ? values.socket : null;
  if (!configured) {
    // The daemon may have been told where to listen; a broken config must not stop us
    // from trying the default places, so problems are ignored here.
    configured = checkConfig(undefined, process.env).config?.statusSocket ?? null;
  }
  try {
    const { snapshot } = await findDaemon(clientSocketCandidates(configured));
    process.stdout.write(values.json ? `${JSON.stringify(snapshot, null, 2)}\n` : renderStatus(snapshot));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof DaemonUnreachable) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}

async function topCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { socket: { type: 'string' } });
  if (positionals.length) throw new UsageError(`agent top takes no arguments (got ${positionals.join(' ')})`);
  const configured = typeof values.socket === 'string' ? values.socket : (checkConfig(undefined, process.env).config?.statusSocket ?? null);
  let path: string;
  try {
    // Found once: the redraws then ask that socket only.
    path = (await findDaemon(clientSocketCandidates(configured))).path;
  } catch (error) {
    if (error instanceof DaemonUnreachable) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }
  const out = {
    get isTTY() {
      return process.stdout.isTTY === true;
    },
    get columns() {
      return process.stdout.columns ?? 100;
    },
    get rows() {
      return process.stdout.rows ?? 30;
    },
    write: (text: string) => void process.stdout.write(text),
  };
  return runTop(() => requestStatus(path), out, process.stdin);
}

function configCommand(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub !== 'check') throw new UsageError(`unknown config command ${JSON.stringify(sub ?? '')}; try: agent config check [FILE]`);
  const { positionals } = parse(rest, {});
  if (positionals.length > 1) throw new UsageError('agent config check takes at most one FILE');
  const result = checkConfig(positionals[0], process.env);
  const file = result.path;
  if (result.problems.length > 0) {
    process.stderr.write(formatProblems(result.problems));
    return EXIT_USAGE;
  }
  process.stdout.write(`${file}: ${result.found ? 'valid' : 'absent, the defaults apply'}\n`);
  process.stdout.write(`${JSON.stringify(redactConfig(result.config!), null, 2)}\n`);
  return EXIT_OK;
}

async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, demo: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`agent run takes no arguments (got ${positionals.join(' ')})`);
  return runAgent({
    configPath: typeof values.config === 'string' ? values.config : undefined,
    demo: values.demo === true,
    env: process.env,
  });
}

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'run': return await runCommand(rest);
      case 'status': return await statusCommand(rest);
      case 'top': return await topCommand(rest);
      case 'config': return configCommand(rest);
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(`${VERSION}\n`);
        return EXIT_OK;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`agent: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    // A bug, not a user mistake: the stack only when debugging was asked for.
    const debug = /^(debug|trace)$/.test(process.env.LANWATCH_LOG_LEVEL ?? '');
    process.stderr.write(`agent: ${debug ? (error as Error).stack : (error as Error).message}\n`);
    return EXIT_FAILURE;
  }
}
