// Simulates a USB NIC being unplugged and plugged back: the rtr end of a veth
// disappears (taking its peer along) and comes back with the same name but a new
// ifindex, fresh counters, and its address / bridge membership restored.
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './exec.ts';
import { plugPort, type NatLab, type PortSpec } from './natLab.ts';

function portOf(lab: NatLab, port: string): PortSpec {
  const spec = lab.ports.find((p) => p.name === port);
  if (spec === undefined) throw new Error(`no rtr port ${port}; have ${lab.ports.map((p) => p.name).join(', ')}`);
  return spec;
}

async function ifindexOf(ns: string, ifname: string): Promise<number> {
  const { stdout } = await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', ifname]);
  const data: unknown = JSON.parse(stdout);
  const idx: unknown = Array.isArray(data) && typeof data[0] === 'object' && data[0] !== null
    ? (data[0] as Record<string, unknown>).ifindex
    : undefined;
  if (typeof idx !== 'number') throw new Error(`no ifindex for ${ifname} in ${ns}`);
  return idx;
}

/** Deletes rtr's port (e.g. 'lan0', 'wan'); its peer in the host namespace goes with it. */
export async function unplugLink(lab: NatLab, port: string): Promise<void> {
  portOf(lab, port);
  await run('ip', ['-n', lab.names.rtr, 'link', 'del', 'dev', port]);
}

/** Re-creates a port removed by unplugLink with its original configuration. */
export async function replugLink(lab: NatLab, port: string): Promise<void> {
  await plugPort(lab.names.rtr, portOf(lab, port));
}

export interface LinkCycleResult {
  oldIfindex: number;
  newIfindex: number;
}

/** unplugLink + optional pause (`downMs`, default 0) + replugLink. */
export async function removeAndReAddLink(lab: NatLab, port: string, opts: { downMs?: number } = {}): Promise<LinkCycleResult> {
  const oldIfindex = await ifindexOf(lab.names.rtr, port);
  await unplugLink(lab, port);
  if ((opts.downMs ?? 0) > 0) await sleep(opts.downMs);
  await replugLink(lab, port);
  return { oldIfindex, newIfindex: await ifindexOf(lab.names.rtr, port) };
}
