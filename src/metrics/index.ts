export {
  collectMetrics,
  renderMetrics,
  type InterfaceRoles,
  type MetricsSources,
  type MqttCounters,
} from './collect.ts';
export {
  EXPOSITION_CONTENT_TYPE,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  type Labels,
  type MetricFamily,
  type MetricSample,
  type MetricType,
} from './exposition.ts';
export {
  DEFAULT_METRICS_SERVER_LIMITS,
  listenErrorMessage,
  startMetricsServer,
  type MetricsLog,
  type MetricsServer,
  type MetricsServerLimits,
  type MetricsServerOptions,
} from './server.ts';
export { startMetricsEndpoint, type MetricsEndpoint, type MetricsEndpointLog } from './endpoint.ts';
