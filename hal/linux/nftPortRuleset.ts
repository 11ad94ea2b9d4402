/**
 * The nftables ruleset that counts broadcast/multicast frames per bridge port, as text for
 * `nft -f -`. Pure: a PortCounterPlan in, the text and the list of counter objects out.
 *
 * Shape (bridge family, our own table, nothing is ever dropped):
 *   table bridge lanwatch {
 *     counter p0_bcast {} … one named counter per port and PORT_* field
 *     chain prerouting { type filter hook prerouting priority -300; policy accept;
 *                        iifname vmap { "lan1" : jump port_0, … } }
 *     chain port_0 { own source; not bcast/mcast → return; bcast; mcast; ARP, ND, mDNS, SSDP, DHCP }
 *   }
 *
 * Decisions:
 * - Counter and chain names come from the port's index in the plan (p0_bcast, port_0), never
 *   from its name: interface names may hold '-', '.', '@' and more that nft identifiers can't,
 *   and any sanitising scheme (eth0.10 → eth0_10) can collide with another real name.
 * - Priority -300 (NF_BR_PRI_NAT_DST_BRIDGED, the earliest named bridge priority): we count
 *   before any filter of the user's drops a frame.
 * - One vmap lookup dispatches a frame to its port's chain, instead of one iifname compare per
 *   port; a unicast frame then costs one more compare (own source) and one set lookup.
 * - Protocols are matched with `meta protocol` / `meta l4proto` + transport header, not
 *   `ether type`: the kernel moves a single 802.1Q tag out of the frame before the bridge
 *   (skb_vlan_untag in __netif_receive_skb_core), so skb->protocol and the transport header are
 *   the inner ones, while `ether type` reads the re-inserted tag (0x8100) and would miss every
 *   tagged ARP. So VLAN-tagged frames (one tag) count by their inner protocol; frames with two
 *   tags (QinQ) count only as broadcast/multicast.
 * - Own source (`ether saddr` = bridge MAC) counts every frame, unicast too: the bridge's own
 *   frames coming back in on a port is a loop whatever the destination.
 * - The text starts with `table … {}` + `delete table …`: one transaction that replaces a table
 *   left by a crashed run and also works when there is none (a bare `delete table` of a missing
 *   table fails the whole file with ENOENT, checked on nft 1.0.6 / Linux 6.18).
 */
import type { PortCounterPlan } from '../index.ts';
import {
  PORT_ARP,
  PORT_BCAST,
  PORT_DHCP,
  PORT_FIELDS,
  PORT_MCAST,
  PORT_MDNS,
  PORT_ND,
  PORT_OWN_SOURCE,
  PORT_SSDP,
} from '../index.ts';

export const NFT_PORT_TABLE = 'lanwatch';
export const NFT_PORT_FAMILY = 'bridge';

/** Counter-name suffix of each PORT_* field, indexed by the field. */
const SUFFIX: readonly string[] = (() => {
  const suffix = new Array<string>(PORT_FIELDS);
  suffix[PORT_BCAST] = 'bcast';
  suffix[PORT_MCAST] = 'mcast';
  suffix[PORT_ARP] = 'arp';
  suffix[PORT_ND] = 'nd';
  suffix[PORT_MDNS] = 'mdns';
  suffix[PORT_SSDP] = 'ssdp';
  suffix[PORT_DHCP] = 'dhcp';
  suffix[PORT_OWN_SOURCE] = 'own';
  return suffix;
})();

/** One named counter object: which port (index into `ports`) and which PORT_* field. */
export interface PortCounterObject {
  name: string;
  port: number;
  field: number;
}

export interface PortRuleset {
  table: string;
  /** The plan's ports without duplicates, in plan order; counter `port` indexes this. */
  ports: readonly string[];
  /** Every counter object in definition order, which is the order a GETOBJ dump returns them. */
  counters: readonly PortCounterObject[];
  /** Input for `nft -f -`. */
  text: string;
}

export function counterName(port: number, field: number): string {
  return `p${port}_${SUFFIX[field]}`;
}

// IFNAMSIZ is 16 with the NUL. Inside an nft string a '"' ends it, a backslash escapes and a
// trailing '*' is a wildcard (iifname "eth*"), so names with them can't be matched literally;
// Linux allows them, routers don't use them. Non-ASCII is refused for the same reason: we
// could not test how every nft version treats it.
const PORT_NAME_RE = /^[\x21-\x7e]{1,15}$/;
const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Why `name` can't be a counted port, or null when it can. */
export function portNameProblem(name: string): string | null {
  if (!PORT_NAME_RE.test(name)) return `port name ${JSON.stringify(name)} is not 1-15 printable ASCII characters`;
  if (/["\\*]/.test(name)) return `port name ${JSON.stringify(name)} contains '"', '\\' or '*', which nft can't match literally`;
  return null;
}

/** ND: router solicitation/advertisement, neighbour solicitation/advertisement, redirect. */
const ND_TYPES = 'nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect';

function portChain(index: number, bridgeMac: string | null): string[] {
  const ref = (field: number): string => `counter name "${counterName(index, field)}"`;
  const lines: string[] = [];
  if (bridgeMac !== null) lines.push(`ether saddr ${bridgeMac} ${ref(PORT_OWN_SOURCE)}`);
  lines.push(
    // Unicast (pkttype host/otherhost) stops here: protocols are counted for flooded frames only.
    'meta pkttype != { broadcast, multicast } return',
    `meta pkttype broadcast ${ref(PORT_BCAST)}`,
    `meta pkttype multicast ${ref(PORT_MCAST)}`,
    `meta protocol arp ${ref(PORT_ARP)} return`,
    `meta protocol ip6 meta l4proto ipv6-icmp icmpv6 type { ${ND_TYPES} } ${ref(PORT_ND)} return`,
    `meta l4proto udp th dport 5353 ${ref(PORT_MDNS)} return`,
    `meta l4proto udp th dport 1900 ${ref(PORT_SSDP)} return`,
    // DHCPv4 server/client, DHCPv6 client/server.
    `meta l4proto udp th dport { 67, 68, 546, 547 } ${ref(PORT_DHCP)} return`,
  );
  return lines;
}

/**
 * Builds the ruleset for `plan`. Throws an Error for people when the plan can't be expressed
 * (bad port name, bad MAC); nothing is installed then.
 */
export function buildPortRuleset(plan: PortCounterPlan, table: string = NFT_PORT_TABLE): PortRuleset {
  const ports = [...new Set(plan.ports)];
  for (const port of ports) {
    const problem = portNameProblem(port);
    if (problem) throw new Error(`cannot count port ${port}: ${problem}`);
  }
  const mac = plan.bridgeMac === null ? null : plan.bridgeMac.toLowerCase();
  if (mac !== null && !MAC_RE.test(mac)) throw new Error(`bridge MAC ${JSON.stringify(plan.bridgeMac)} is not a colon MAC`);

  const counters: PortCounterObject[] = [];
  ports.forEach((_, port) => {
    for (let field = 0; field < PORT_FIELDS; field++) {
      if (field === PORT_OWN_SOURCE && mac === null) continue;
      counters.push({ name: counterName(port, field), port, field });
    }
  });

  const out: string[] = [
    `# lanwatch: per-port broadcast/multicast counters of bridge ${plan.bridge}. Generated;`,
    '# replaced as a whole when the agent starts or the ports change, removed when it stops.',
    `table ${NFT_PORT_FAMILY} ${table} {}`,
    `delete table ${NFT_PORT_FAMILY} ${table}`,
    `table ${NFT_PORT_FAMILY} ${table} {`,
  ];
  for (const counter of counters) out.push(`\tcounter ${counter.name} {}`);
  if (ports.length > 0) {
    const dispatch = ports.map((port, index) => `"${port}" : jump port_${index}`).join(', ');
    out.push(
      '\tchain prerouting {',
      '\t\ttype filter hook prerouting priority -300; policy accept;',
      `\t\tiifname vmap { ${dispatch} }`,
      '\t}',
    );
    ports.forEach((port, index) => {
      out.push(`\t# ${port}`, `\tchain port_${index} {`, ...portChain(index, mac).map((line) => `\t\t${line}`), '\t}');
    });
  }
  out.push('}', '');
  return { table, ports, counters, text: out.join('\n') };
}
