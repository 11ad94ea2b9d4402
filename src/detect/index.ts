/** Detectors: pure state machines over rates and events, feeding the alarm engine. */
export { levelScore } from './levelScore.ts';
export { formatMac, parseMac, type MacHalves } from './mac.ts';
export { LOOP_DEFAULTS, resolveLoopOptions, type LoopOptions } from './loopOptions.ts';
export {
  LOOP_CERTAIN,
  LOOP_FIELDS,
  LOOP_FLOOD_PPS,
  LOOP_NONE,
  LOOP_OWN_FRAMES,
  LOOP_SUSPECTED,
  LoopDetector,
  SIGNAL_BCAST_GROWTH,
  SIGNAL_MAC_FLAP,
  SIGNAL_OWN_FRAMES,
} from './loopDetector.ts';
export { loopAlarmInput, loopAlarmSpec, loopReport, type LoopAlarmExtras, type LoopPortReport, type LoopSignal } from './loopAlarm.ts';
export { STORM_DEFAULTS, resolveStormOptions, type StormOptions } from './stormOptions.ts';
export {
  RULE_ABSOLUTE,
  RULE_BASELINE,
  STORM_ARP,
  STORM_DHCP,
  STORM_FIELDS,
  STORM_MDNS,
  STORM_ND,
  STORM_OTHER,
  STORM_PROTOCOLS,
  STORM_SSDP,
  STORM_TOTAL,
  type StormProtocol,
} from './stormInput.ts';
export { StormDetector } from './stormDetector.ts';
export { stormAlarmInput, stormAlarmSpec, stormReport, type StormPortReport, type StormRule } from './stormAlarm.ts';
