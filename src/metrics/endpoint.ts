/**
 * The agent's optional Prometheus endpoint: starts the server when configured and reports,
 * for `agent status`, where it serves or why it does not. A port that is taken is logged and
 * shown, never fatal: the endpoint is an extra, the monitoring itself must go on.
 */
import type { PrometheusConfig } from '../config/types.ts';
import type { MetricsEndpointStatus } from '../status/types.ts';
import { renderMetrics, type MetricsSources } from './collect.ts';
import { startMetricsServer, type MetricsServer } from './server.ts';

export interface MetricsEndpointLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface MetricsEndpoint {
  status: MetricsEndpointStatus;
  close(): Promise<void>;
}

export async function startMetricsEndpoint(
  config: PrometheusConfig,
  sources: MetricsSources,
  log: MetricsEndpointLog,
): Promise<MetricsEndpoint> {
  if (!config.enabled) return { status: { url: null, error: null }, close: async () => {} };
  let server: MetricsServer;
  try {
    server = await startMetricsServer({
      address: config.address,
      port: config.port,
      render: () => renderMetrics(sources),
      log: { warn: (message) => log.warn(message) },
    });
  } catch (error) {
    const message = (error as Error).message;
    log.error(message);
    return { status: { url: null, error: message }, close: async () => {} };
  }
  const { address, port } = server.address;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`;
  log.info(`prometheus: serving ${url}`);
  return { status: { url, error: null }, close: () => server.close() };
}
