/**
 * Configuration: JSON schema with defaults, the config file (read through conf, never written),
 * LANWATCH_* environment overrides, merging, and the problem list behind `agent config check`.
 */
export type {
  AlarmsConfig,
  Config,
  ConfigLayer,
  ConfigProblem,
  DeepPartial,
  InterfacesConfig,
  LogConfig,
  LogFormat,
  LogLevel,
  MqttConfig,
  NatTableAlarmLevels,
  PrometheusConfig,
} from './config/types.ts';
export { CONFIG_SCHEMA, DEFAULT_CONFIG, DEFAULT_CONFIG_PATH } from './config/schema.ts';
export { loadConfigFile, type LoadedFile } from './config/load.ts';
export {
  CONFIG_PATH_VARIABLE,
  ENV_VARIABLES,
  TEST_VARIABLE_PREFIX,
  configFromEnv,
  envVariableName,
  type EnvVariable,
} from './config/env.ts';
export { mergeConfig } from './config/merge.ts';
export {
  CONFIG_PROBLEM_EXIT_CODE,
  checkConfig,
  formatProblems,
  redactConfig,
  resolveConfigPath,
  type CheckResult,
} from './config/check.ts';
export type { LayerResult } from './config/validate.ts';
