/**
 * The nftables table that blocks bridge ports for loop protection, as text for `nft -f -`.
 * Pure: the set of blocked ports in, the text out.
 *
 *   table bridge lanwatch_guard {
 *     set blocked { type ifname; elements = { "lan3" } }
 *     chain prerouting  { type filter hook prerouting priority -200; policy accept;
 *                         iifname @blocked counter drop }
 *     chain postrouting { type filter hook postrouting priority -200; policy accept;
 *                         oifname @blocked counter drop }
 *   }
 *
 * Decisions, checked on Linux 6.18 / nft 1.0.6 in the loop lab (test/integration/portGuard.test.ts):
 * - Its own table, not chains in `table bridge lanwatch`: the counter table is replaced as a
 *   whole when the ports change, and a change here must never reset those counters.
 * - Priority -200 (NF_BR_PRI_FILTER_BRIDGED), after the counters at -300: a blocked port's
 *   own frames are still counted before they are dropped, so while the loop is physically
 *   there they keep arriving, and that IS the re-test at the end of a hold-down.
 * - Both directions. Dropping ingress alone leaves the cycle through a second switch alive
 *   (in on port A, out on B, back in on A); dropping egress too cuts it.
 * - Two hooks are enough: prerouting sees every frame entering a port (to be forwarded or to
 *   the host), and postrouting every frame leaving one, forwarded (after NF_BR_FORWARD) or
 *   sent by the host itself (after NF_BR_LOCAL_OUT): br_forward_finish() runs POST_ROUTING
 *   for both (net/bridge/br_forward.c). No forward or output chain is needed.
 * - Every frame, not only broadcast and multicast. Unknown unicast floods and circles a loop
 *   too, and the bridge learns source MACs after prerouting: with only bcast/mcast dropped, a
 *   host sending 10 pps to a MAC nobody owns re-ignited the full storm through the "blocked"
 *   port, its own MAC was learned on the loop port, and pings to the bridge lost 2 of 3.
 * - The nft port state, not the bridge's BR_STATE_BLOCKING: in a blocking state the bridge
 *   drops frames before the prerouting hook (br_handle_frame), so nothing would be counted
 *   and the hold-down could never tell whether the loop is still there.
 * - The whole table is written on every change (`table {}` + `delete table` + the new table
 *   in one transaction), never `add element`/`delete element`: one atomic commit that is
 *   idempotent, works when there is no table yet, and puts back a table that a firewall
 *   reload (`nft flush ruleset`) removed behind our back. Changes are rare (a loop, a
 *   hold-down's end), so the cost does not matter; the drop counters restart, which is fine.
 */
import { portNameProblem } from './nftPortRuleset.ts';

export const NFT_GUARD_TABLE = 'lanwatch_guard';
export const NFT_GUARD_FAMILY = 'bridge';
export const NFT_GUARD_SET = 'blocked';

function head(table: string): string[] {
  // A bare `delete table` of a missing table fails the whole file with ENOENT; declaring it
  // first makes the pair succeed either way (as nftPortRuleset.ts does).
  return [`table ${NFT_GUARD_FAMILY} ${table} {}`, `delete table ${NFT_GUARD_FAMILY} ${table}`];
}

/** Throws an Error for people when `port` cannot be matched literally by nft. */
export function checkGuardPort(port: string): void {
  const problem = portNameProblem(port);
  if (problem) throw new Error(`cannot block port ${port}: ${problem}`);
}

/** The guard table blocking `ports` (any order, duplicates ignored), replacing any old one. */
export function buildGuardRuleset(ports: Iterable<string>, table: string = NFT_GUARD_TABLE): string {
  const names = [...new Set(ports)].sort();
  for (const port of names) checkGuardPort(port);
  const elements = names.length > 0 ? ` elements = { ${names.map((p) => `"${p}"`).join(', ')} };` : '';
  return [
    '# lanwatch loop protection: bridge ports cut off while a loop runs through them. Generated;',
    '# replaced as a whole on every change, removed when the agent stops.',
    ...head(table),
    `table ${NFT_GUARD_FAMILY} ${table} {`,
    `\tset ${NFT_GUARD_SET} { type ifname;${elements} }`,
    '\tchain prerouting {',
    '\t\ttype filter hook prerouting priority -200; policy accept;',
    `\t\tiifname @${NFT_GUARD_SET} counter drop`,
    '\t}',
    '\tchain postrouting {',
    '\t\ttype filter hook postrouting priority -200; policy accept;',
    `\t\toifname @${NFT_GUARD_SET} counter drop`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** Removes the guard table; succeeds when there is none. */
export function buildGuardRemoval(table: string = NFT_GUARD_TABLE): string {
  return `${head(table).join('\n')}\n`;
}

/** Element names from `nft -j list set bridge <table> blocked` output. */
export function parseGuardSetListing(json: string): string[] {
  const parsed = JSON.parse(json) as { nftables?: { set?: { name?: string; elem?: unknown[] } }[] };
  const names: string[] = [];
  for (const item of parsed.nftables ?? []) {
    if (item.set?.name !== NFT_GUARD_SET) continue;
    for (const elem of item.set.elem ?? []) if (typeof elem === 'string') names.push(elem);
  }
  return names.sort();
}
