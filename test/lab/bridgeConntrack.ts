// How a transparent bridge makes the kernel track the flows it forwards, so lanwatch can count
// them against the upstream device's table (README: "conntrack must see bridged traffic").
// Nothing tracks bridged frames by default; a Pi-as-bridge user gets it one of two ways:
// - nf_conntrack_bridge (Linux ≥ 5.3): any `ct` expression in an nftables bridge-family table
//   makes the kernel track bridged IPv4/IPv6 in the bridge's own hooks. What a bridge firewall
//   written for nftables (Raspberry Pi OS's default since bookworm) gets from a `ct state` rule.
// - br_netfilter: bridged IPv4 frames also traverse the IP hooks (bridge-nf-call-iptables=1, a
//   per-netns sysctl since 5.3), where an inet-family `ct` rule (or iptables -m conntrack /
//   -m physdev) tracks them. The older way, and what Docker and Kubernetes load anyway.
// We use the first one the kernel has. nft may autoload nf_conntrack_bridge, which changes nothing
// until a namespace uses it. br_netfilter is used only when it is already there (built in or
// loaded): loading it would send every bridge on the host through iptables (its default is on).
// This test kernel (6.18, no modules) has br_netfilter built in and no nf_conntrack_bridge.
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { inNs } from './exec.ts';

export type BridgeConntrackHook = 'nf_conntrack_bridge' | 'br_netfilter';

export const BRIDGE_CT_TABLE = 'lab_bridge_ct';

// A typical bridge-firewall rule; nothing in the lab is invalid, so it drops nothing.
const rules = (family: 'bridge' | 'inet'): string => `table ${family} ${BRIDGE_CT_TABLE} {
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state invalid drop
  }
}
`;

function moduleFileExists(name: string): boolean {
  const dir = `/lib/modules/${release()}/kernel/net/bridge/netfilter`;
  try {
    return readdirSync(dir).some((f) => f.startsWith(`${name}.ko`));
  } catch {
    return false;
  }
}

/** One line saying why bridged flows cannot be tracked here, or null when one way exists. */
export function bridgeConntrackSkipReason(): string | null {
  if (existsSync('/sys/module/nf_conntrack_bridge') || moduleFileExists('nf_conntrack_bridge')) return null;
  if (existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) return null;
  return 'the kernel can track bridged flows neither way: no nf_conntrack_bridge module, and br_netfilter is not loaded (not loaded for a test: it would change every bridge on the host)';
}

/**
 * Makes conntrack in `ns` track what its bridges forward; returns the way used. The table lives
 * in `ns` and goes with it.
 */
export async function trackBridgedFlows(ns: string): Promise<BridgeConntrackHook> {
  const bridgeFamily = await inNs(ns, 'nft', ['-f', '-'], { input: rules('bridge'), okCodes: [0, 1] });
  if (bridgeFamily.code === 0) return 'nf_conntrack_bridge';
  // EPROTO ("Protocol error") is the kernel saying nf_conntrack_bridge is missing.
  if (!/Protocol error/.test(bridgeFamily.stderr)) throw new Error(`nft bridge ${BRIDGE_CT_TABLE} in ${ns}: ${bridgeFamily.stderr.trim()}`);
  const call = await inNs(ns, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1'], { okCodes: [0, 1, 255] });
  if (call.code !== 0) throw new Error(`bridged flows cannot be tracked in ${ns}: no nf_conntrack_bridge and no br_netfilter (${call.stderr.trim()})`);
  await inNs(ns, 'nft', ['-f', '-'], { input: rules('inet') });
  return 'br_netfilter';
}
