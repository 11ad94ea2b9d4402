// The whole agent in the router (or bridge) namespace of a NAT lab, with a Mosquitto and an MQTT
// recorder there (agentLab.ts), conntrack timeouts shortened so closed flows leave within a test,
// and the flows the test opens, closed at teardown.
import { setTimeout as sleep } from 'node:timers/promises';
import { startLabStack, type LabStack } from './agentLab.ts';
import { openFlowPlan, type Flows, type HostFlowPlan } from './flows.ts';
import { rankingsWhenAgreeing, type RankedRow } from './natAgentOracle.ts';
import { createNatLab, shortenConntrackTimeouts, type NatLab, type NatLabOptions } from './natLab.ts';
import type { StatusSnapshot } from '../../src/status/types.ts';

export interface NatAgentLab {
  lab: NatLab;
  stack: LabStack;
  /** Opens `plan` (UDP kept alive every 2 s); the flows end at close() or teardown. */
  open(plan: readonly HostFlowPlan[]): Promise<void>;
  /**
   * Ends every flow and waits until they have expired (closed TCP 2 s, idle UDP 5 s) and the
   * agent shows no host and no upstream usage; returns the last comparison for the caller.
   */
  closeAndExpire(): Promise<{ agent: RankedRow[]; kernel: RankedRow[]; snapshot: StatusSnapshot }>;
  /** Flows, agent stack and namespaces; idempotent. */
  destroy(): Promise<void>;
}

export async function startNatAgentLab(labOptions: NatLabOptions, config: Record<string, unknown>): Promise<NatAgentLab> {
  const lab = await createNatLab(labOptions);
  const flows: Flows[] = [];
  let stack: LabStack | undefined;
  const destroy = async (): Promise<void> => {
    try {
      await Promise.all(flows.splice(0).map((f) => f.close()));
      await stack?.stop();
    } finally {
      await lab.destroy();
    }
  };
  try {
    await shortenConntrackTimeouts(lab.names.rtr);
    stack = await startLabStack(lab.names.rtr, { config: { mqtt: { nodeId: 'lab', stateIntervalMs: 2000 }, ...config } });
  } catch (error) {
    await destroy();
    throw error;
  }
  const started = stack;
  return {
    lab,
    stack: started,
    async open(plan) {
      flows.push(...(await openFlowPlan(lab, plan, { udpKeepaliveMs: 2_000, maxLifetimeMs: 110_000 })));
    },
    async closeAndExpire() {
      await Promise.all(flows.splice(0).map((f) => f.close()));
      await sleep(6_000);
      // The kernel reaps expired entries lazily; each poll's `conntrack -L` makes it do so now,
      // and each removal is a DESTROY event for the agent.
      return rankingsWhenAgreeing(started.snapshot, lab, (k, s) => k.length === 0 && s.conntrack.upstream?.used === 0);
    },
    destroy,
  };
}
