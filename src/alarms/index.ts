/** The alarm engine's public API: the contract, the state machine, the engine and the alarms. */
export type {
  AlarmEvent,
  AlarmInput,
  AlarmLevel,
  AlarmSink,
  AlarmState,
  Severity,
  ThresholdAlarmSpec,
} from './types.ts';
export { ThresholdAlarm, type AlarmChange, type EpochTime } from './thresholdAlarm.ts';
export { AlarmEngine, type AlarmLogger } from './engine.ts';
export { natTableInput, natTableSpec, type NatTableSource } from './natTable.ts';
