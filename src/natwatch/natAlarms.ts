/**
 * The NAT pressure alarms on NatWatch's inputs: nat_full (refusals) and nat_upstream (the
 * declared upstream budget). One place, so the agent and the tick bench wire them alike.
 */
import type { AlarmEngine } from '../alarms/engine.ts';
import { natFullInput, natFullSpec, natUpstreamInput, natUpstreamSpec, type NatFullLevels, type NatUpstreamLevels } from '../alarms/natPressureAlarms.ts';
import type { NatWatch } from './natWatch.ts';

export interface NatAlarmLevels {
  natFull: NatFullLevels;
  natUpstream: NatUpstreamLevels;
}

/** Adds the alarms that are enabled; nat_upstream only with a budget. */
export function addNatPressureAlarms(alarms: AlarmEngine, natWatch: NatWatch, levels: NatAlarmLevels, upstreamBudget: number | null): void {
  const natFull = natFullSpec(levels.natFull);
  if (natFull !== null) alarms.add(natFull, natFullInput(natWatch.pressure));
  const natUpstream = natUpstreamSpec(levels.natUpstream, upstreamBudget);
  if (natUpstream !== null) alarms.add(natUpstream, natUpstreamInput(natWatch, natWatch.pressure));
}
