// Runs bcastTraffic.mjs inside a lab host namespace and waits for it to finish.
import { fileURLToPath } from 'node:url';
import { inNs } from './exec.ts';

export type TrafficKind = 'mdns4' | 'mdns6' | 'ssdp' | 'dhcp' | 'arp' | 'nd' | 'unicast';

export interface TrafficSpec {
  kind: TrafficKind;
  count: number;
  pps: number;
  /** Source address (IPv4 kinds) and interface (IPv6 kinds). */
  addr?: string;
  ifname?: string;
  /** Destination of 'unicast'. */
  peer?: string;
  /** 'unicast' to this many distinct ports (20000 on) instead of port 9: one conntrack entry each. */
  ports?: number;
}

const script = fileURLToPath(new URL('./bcastTraffic.mjs', import.meta.url));

/** Sends `spec` from `ns`; resolves with how many datagrams the socket accepted. */
export async function sendTraffic(ns: string, spec: TrafficSpec): Promise<{ sent: number; errors: number }> {
  const { stdout } = await inNs(ns, process.execPath, [script, JSON.stringify(spec)], { timeoutMs: 40_000 });
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { sent?: number; errors?: number };
  if (typeof result.sent !== 'number' || typeof result.errors !== 'number') throw new Error(`bcastTraffic: ${stdout}`);
  return { sent: result.sent, errors: result.errors };
}

export interface RawFrameSpec {
  kind: 'vlan-arp' | 'vlan-mdns4';
  ifname: string;
  /** Source MAC of the frames. */
  src: string;
  /** 802.1Q VLAN id, 2..98. */
  vid: number;
  count: number;
  pps: number;
}

const rawScript = fileURLToPath(new URL('./rawFrames.py', import.meta.url));

/** Sends hand-built 802.1Q-tagged frames from `ns` (rawFrames.py: the lab kernel has no 8021q). */
export async function sendRawFrames(ns: string, spec: RawFrameSpec): Promise<{ sent: number }> {
  const { stdout } = await inNs(ns, 'python3', [rawScript, JSON.stringify(spec)], { timeoutMs: 40_000 });
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { sent?: number };
  if (typeof result.sent !== 'number') throw new Error(`rawFrames.py: ${stdout}`);
  return { sent: result.sent };
}
