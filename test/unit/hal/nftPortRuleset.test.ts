import { describe, expect, it } from 'vitest';
import { PORT_ARP, PORT_BCAST, PORT_DHCP, PORT_FIELDS, PORT_MCAST, PORT_MDNS, PORT_ND, PORT_OWN_SOURCE, PORT_SSDP } from '../../../hal/index.ts';
import { buildPortRuleset, counterName, portNameProblem } from '../../../hal/linux/nftPortRuleset.ts';

const plan = { bridge: 'br-lan', bridgeMac: '02:88:00:00:00:01', ports: ['lan1', 'eth0.10'] };

describe('buildPortRuleset', () => {
  it('writes one transaction that replaces any leftover table, then defines ours', () => {
    const lines = buildPortRuleset(plan).text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.slice(0, 3)).toEqual(['table bridge lanwatch {}', 'delete table bridge lanwatch', 'table bridge lanwatch {']);
    expect(lines.at(-1)).toBe('}');
  });

  it('counts each port in its own chain, reached through one iifname vmap at priority -300', () => {
    const { text } = buildPortRuleset(plan);
    expect(text).toContain(
      [
        '\tchain prerouting {',
        '\t\ttype filter hook prerouting priority -300; policy accept;',
        '\t\tiifname vmap { "lan1" : jump port_0, "eth0.10" : jump port_1 }',
        '\t}',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        '\t# eth0.10',
        '\tchain port_1 {',
        '\t\tether saddr 02:88:00:00:00:01 counter name "p1_own"',
        '\t\tmeta pkttype != { broadcast, multicast } return',
        '\t\tmeta pkttype broadcast counter name "p1_bcast"',
        '\t\tmeta pkttype multicast counter name "p1_mcast"',
        '\t\tmeta protocol arp counter name "p1_arp" return',
        '\t\tmeta protocol ip6 meta l4proto ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } counter name "p1_nd" return',
        '\t\tmeta l4proto udp th dport 5353 counter name "p1_mdns" return',
        '\t\tmeta l4proto udp th dport 1900 counter name "p1_ssdp" return',
        '\t\tmeta l4proto udp th dport { 67, 68, 546, 547 } counter name "p1_dhcp" return',
        '\t}',
      ].join('\n'),
    );
  });

  it('never drops, rejects or modifies a frame', () => {
    const { text } = buildPortRuleset(plan);
    expect(text).not.toMatch(/(?<![\w-])(drop|reject|queue|redirect|dnat|snat|masquerade|set)(?![\w-])/);
    expect(text).toContain('policy accept;');
  });

  it('names counters by plan index and field, so port names never have to be nft identifiers', () => {
    const ports = ['eth0.10', 'eth0_10', 'eth0-10', 'wlan0-1', 'br-lan', 'a@b'];
    const ruleset = buildPortRuleset({ ...plan, ports });
    const names = ruleset.counters.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^p[0-9]+_[a-z]+$/);
    const chains = [...ruleset.text.matchAll(/chain (\S+) \{/g)].map((m) => m[1]);
    expect(chains).toEqual(['prerouting', 'port_0', 'port_1', 'port_2', 'port_3', 'port_4', 'port_5']);
    // Port names appear only as quoted strings.
    for (const port of ports) expect(ruleset.text).toContain(`"${port}" : jump port_${ports.indexOf(port)}`);
  });

  it('lists every counter with its port index and PORT_* field, in definition order', () => {
    const ruleset = buildPortRuleset(plan);
    expect(ruleset.counters).toHaveLength(2 * PORT_FIELDS);
    const suffix = new Map([
      [PORT_BCAST, 'bcast'], [PORT_MCAST, 'mcast'], [PORT_ARP, 'arp'], [PORT_ND, 'nd'],
      [PORT_MDNS, 'mdns'], [PORT_SSDP, 'ssdp'], [PORT_DHCP, 'dhcp'], [PORT_OWN_SOURCE, 'own'],
    ]);
    for (const counter of ruleset.counters) {
      expect(counter.name).toBe(`p${counter.port}_${suffix.get(counter.field)}`);
      expect(counter.name).toBe(counterName(counter.port, counter.field));
    }
    const defined = [...ruleset.text.matchAll(/^\tcounter (\S+) \{\}$/gm)].map((m) => m[1]);
    expect(defined).toEqual(ruleset.counters.map((c) => c.name));
  });

  it('leaves out the own-source counter when the bridge has no MAC, and lower-cases a MAC', () => {
    const none = buildPortRuleset({ ...plan, bridgeMac: null });
    expect(none.counters.some((c) => c.field === PORT_OWN_SOURCE)).toBe(false);
    expect(none.text).not.toContain('ether saddr');
    expect(buildPortRuleset({ ...plan, bridgeMac: '02:AB:00:00:00:01' }).text).toContain('ether saddr 02:ab:00:00:00:01 ');
  });

  it('counts a port listed twice once', () => {
    const ruleset = buildPortRuleset({ ...plan, ports: ['lan1', 'lan2', 'lan1'] });
    expect(ruleset.ports).toEqual(['lan1', 'lan2']);
    expect(ruleset.text).toContain('iifname vmap { "lan1" : jump port_0, "lan2" : jump port_1 }');
  });

  it('installs an empty table for a plan without ports', () => {
    const ruleset = buildPortRuleset({ ...plan, ports: [] });
    expect(ruleset.counters).toEqual([]);
    expect(ruleset.text).not.toContain('chain');
    expect(ruleset.text).toContain('table bridge lanwatch {\n}');
  });

  it('refuses names nft cannot match literally and MACs that are not MACs, with the reason', () => {
    for (const bad of ['', 'x'.repeat(16), 'a"b', 'eth*', 'a\\b', 'a b', 'lan\u00e9']) {
      expect(portNameProblem(bad), JSON.stringify(bad)).not.toBeNull();
      expect(() => buildPortRuleset({ ...plan, ports: [bad] })).toThrow(/cannot count port/);
    }
    for (const good of ['lan1', 'eth0.10', 'wlan0-1', 'x'.repeat(15), 'br-lan', 'a@b', 'phy0-ap0']) {
      expect(portNameProblem(good)).toBeNull();
    }
    expect(() => buildPortRuleset({ ...plan, bridgeMac: '02:88:00:00:00' })).toThrow(/not a colon MAC/);
  });

  it('uses another table name when asked', () => {
    const ruleset = buildPortRuleset(plan, 'lanwatch_test');
    expect(ruleset.table).toBe('lanwatch_test');
    expect(ruleset.text).toContain('delete table bridge lanwatch_test\n');
  });
});
