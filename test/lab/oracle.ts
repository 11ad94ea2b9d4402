// Independent oracles: read kernel state with the stock tools (conntrack, ip),
// never through lanwatch code, so tests can compare the agent against them.
import { inNs, run } from './exec.ts';

/** Entries in the namespace's conntrack table (`conntrack -C`). */
export async function conntrackCount(ns: string): Promise<number> {
  const { stdout } = await inNs(ns, 'conntrack', ['-C']);
  const n = Number(stdout.trim());
  if (!Number.isInteger(n)) throw new Error(`conntrack -C in ${ns}: unexpected output ${JSON.stringify(stdout)}`);
  return n;
}

export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface ConntrackEntry {
  proto: string;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...); undefined for stateless protocols. */
  state?: string;
  timeout: number;
  orig: ConntrackTuple;
  reply: ConntrackTuple;
  flags: string[];
}

function tuple(kv: Map<string, string>): ConntrackTuple {
  const sport = kv.get('sport');
  const dport = kv.get('dport');
  return {
    src: kv.get('src') ?? '',
    dst: kv.get('dst') ?? '',
    ...(sport !== undefined ? { sport: Number(sport) } : {}),
    ...(dport !== undefined ? { dport: Number(dport) } : {}),
  };
}

// Line format: "tcp 6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. src=.. ... [ASSURED] mark=0 use=1";
// the first src/dst/sport/dport group is the original direction, the second the reply.
export function parseConntrackLine(line: string): ConntrackEntry | null {
  const toks = line.trim().split(/\s+/);
  const proto = toks[0];
  if (proto === undefined || toks.length < 4) return null;
  const orig = new Map<string, string>();
  const reply = new Map<string, string>();
  const flags: string[] = [];
  let state: string | undefined;
  for (const tok of toks.slice(3)) {
    const eq = tok.indexOf('=');
    if (eq < 0) {
      if (tok.startsWith('[')) flags.push(tok.slice(1, -1));
      else state ??= tok;
      continue;
    }
    const key = tok.slice(0, eq);
    const target = orig.has(key) ? reply : orig;
    if (!target.has(key)) target.set(key, tok.slice(eq + 1));
  }
  return { proto, ...(state !== undefined ? { state } : {}), timeout: Number(toks[2]), orig: tuple(orig), reply: tuple(reply), flags };
}

export async function conntrackEntries(ns: string): Promise<ConntrackEntry[]> {
  const { stdout } = await inNs(ns, 'conntrack', ['-L']);
  return stdout.split('\n').map(parseConntrackLine).filter((e): e is ConntrackEntry => e !== null);
}

export interface LinkStats {
  name: string;
  ifindex: number;
  operstate: string;
  /** Bridge (or bond) this link is enslaved to, if any. */
  master?: string;
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  /** Received multicast/broadcast packets, as counted by the kernel (rx only). */
  multicast: number;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Json, key: string, ctx: string): number {
  const v = obj[key];
  if (typeof v !== 'number') throw new Error(`ip -s -j: ${ctx}.${key} missing or not a number`);
  return v;
}

// iproute2 6.1 prints, per link: ifindex, ifname, operstate, master?, and
// stats64: { rx: {bytes, packets, errors, dropped, over_errors, multicast},
//            tx: {bytes, packets, errors, dropped, carrier_errors, collisions} }.
export function parseLinkStats(json: string): LinkStats[] {
  const data: unknown = JSON.parse(json);
  if (!Array.isArray(data)) throw new Error('ip -s -j link: expected an array');
  return data.map((l: unknown): LinkStats => {
    if (!isObj(l) || typeof l.ifname !== 'string') throw new Error('ip -s -j link: entry without ifname');
    const s = l.stats64;
    if (!isObj(s) || !isObj(s.rx) || !isObj(s.tx)) throw new Error(`ip -s -j link: ${l.ifname} has no stats64.rx/tx`);
    const ctx = `${l.ifname}.stats64`;
    return {
      name: l.ifname,
      ifindex: num(l, 'ifindex', l.ifname),
      operstate: typeof l.operstate === 'string' ? l.operstate : 'UNKNOWN',
      ...(typeof l.master === 'string' ? { master: l.master } : {}),
      rxPackets: num(s.rx, 'packets', `${ctx}.rx`),
      txPackets: num(s.tx, 'packets', `${ctx}.tx`),
      rxBytes: num(s.rx, 'bytes', `${ctx}.rx`),
      txBytes: num(s.tx, 'bytes', `${ctx}.tx`),
      rxErrors: num(s.rx, 'errors', `${ctx}.rx`),
      txErrors: num(s.tx, 'errors', `${ctx}.tx`),
      rxDropped: num(s.rx, 'dropped', `${ctx}.rx`),
      txDropped: num(s.tx, 'dropped', `${ctx}.tx`),
      multicast: num(s.rx, 'multicast', `${ctx}.rx`),
    };
  });
}

/** Per-link counters of every link in the namespace (`ip -s -j link show`). */
export async function linkStats(ns: string): Promise<LinkStats[]> {
  // `ip -n` enters only the net namespace: cheaper than `ip netns exec`, same view.
  const { stdout } = await run('ip', ['-n', ns, '-s', '-j', 'link', 'show']);
  return parseLinkStats(stdout);
}

/** drop + early_drop + insert_failed over every CPU (`conntrack -S`): entries the kernel refused. */
export async function conntrackRefused(ns: string): Promise<number> {
  const { stdout } = await inNs(ns, 'conntrack', ['-S']);
  let sum = 0;
  for (const m of stdout.matchAll(/\b(?:drop|early_drop|insert_failed)=(\d+)/g)) sum += Number(m[1]);
  return sum;
}
