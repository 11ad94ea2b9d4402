/**
 * Loop protection: which bridge port to cut off while a switching loop runs through it, and
 * when to let it go again. A pure state machine: each tick takes the time and, per port, the
 * own frames that came back (the rate fed to LoopDetector.setSample), and returns actions
 * the agent carries out through the guard (guardExecutor.ts) and logs.
 *
 * Rules (switch loop-protect, notes/loop-storm.md §1.1; the deviations are ours and say why):
 * - Only own frames (the bridge's MAC coming back) count, never MAC flapping: Wi-Fi roaming
 *   flaps too, and only a loop brings our own frames back.
 * - One port at a time, then settleMs before the next: blocking one port of a two-cable loop
 *   breaks it, and the other port stays up. Own frames still returning on another eligible
 *   port after that (a second loop, or a dumb switch that loops on itself) block the next.
 * - Which port: the one whose carrier came up last (the loose cable just plugged in), then
 *   the one with the most own frames per second, then the highest ifindex (the newest link).
 * - Never a protected port (WAN, default route, the uplink's port, an ssh session's port),
 *   and nothing at all until the protected set was resolved once. A loop on protected ports
 *   only is reported ("refuse") and left alone.
 * - Hold-down holdDownMs (MikroTik: 5 min). A blocked port's own frames are still counted
 *   (the guard drops after the counters), so at the end: own frames within quietMs mean the
 *   loop is still cabled and the hold-down is extended; none, the port is unblocked and
 *   watched (a returning loop blocks it again; blocks are counted per port).
 *
 * The tick allocates nothing while no own frames come back: port state lives in objects made
 * once per port name, and a tick without actions returns one shared frozen empty list.
 */
import type { ProtectedPort } from '../../hal/index.ts';
import { round1 } from '../detect/text.ts';
import { resolveLoopProtectionOptions, type LoopProtectionOptions } from './protectionOptions.ts';

/** One bridge port as seen this tick. */
export interface ProtectionPortInput {
  name: string;
  ifindex: number;
  /** Monotonic ms when the carrier last came up; NaN when unknown (sorts as oldest). */
  carrierUpAtMs: number;
  /** Own frames per second this tick (> 0: some came back); NaN when unknown (not evidence). */
  ownFramesPerS: number;
}

export type { ProtectedPort };

export type ProtectionAction =
  | { kind: 'block'; port: string; reason: string; untilMs: number; blocks: number }
  | { kind: 'extend'; port: string; reason: string; untilMs: number }
  | { kind: 'unblock'; port: string; reason: string }
  | { kind: 'refuse'; port: string; reason: string };

export interface BlockedPortView {
  port: string;
  /** Wall-clock ms (epoch) of the block and of the hold-down's end. */
  since: number;
  until: number;
  reason: string;
  /** Times this port was blocked since the agent started. */
  blocks: number;
}

/** For `agent status` and MQTT: built on demand, never per tick. */
export interface ProtectionStatus {
  enabled: boolean;
  /** False until the protected ports were resolved once; nothing is blocked before. */
  protectedKnown: boolean;
  blocked: BlockedPortView[];
  refused: ProtectedPort[];
  protectedPorts: ProtectedPort[];
  /** Every port blocked at least once, with its count. */
  blockCounts: { port: string; blocks: number }[];
}

interface PortState {
  name: string;
  ifindex: number;
  carrierUpAt: number;
  lastOwnAt: number;
  /** Own frames per second of the latest tick that had any. */
  ownRate: number;
  blocked: boolean;
  since: number;
  until: number;
  reason: string;
  blocks: number;
  unblockedAt: number;
  /** Why a loop on it was left alone, while that lasts; null otherwise. */
  refused: string | null;
}

const NO_ACTIONS: readonly ProtectionAction[] = Object.freeze([]);

function seconds(ms: number): string {
  return `${round1(ms / 1000)} s`;
}

/** -Infinity for NaN, so unknown carrier times sort as the oldest. */
function orOldest(ms: number): number {
  return ms === ms ? ms : -Infinity;
}

/** Preference order: carrier up last, then most own frames per second, then highest ifindex. */
function preferred(a: PortState, b: PortState): number {
  return orOldest(b.carrierUpAt) - orOldest(a.carrierUpAt) || b.ownRate - a.ownRate || b.ifindex - a.ifindex;
}

function why(best: PortState, second: PortState | undefined): string {
  if (second === undefined) return '';
  if (orOldest(best.carrierUpAt) !== orOldest(second.carrierUpAt)) return 'its carrier came up last';
  if (best.ownRate !== second.ownRate) return 'it has the most own frames';
  return 'it has the highest ifindex';
}

export class LoopProtection {
  private opts: Readonly<LoopProtectionOptions>;
  private readonly states: PortState[] = [];
  private readonly byName = new Map<string, PortState>();
  private protectedPorts = new Map<string, string>();
  private protectedKnown = false;
  private lastBlockAt = -Infinity;
  private lastOwnAnyAt = -Infinity;
  /** This tick's actions; reused, so a tick without any allocates nothing. */
  private readonly out: ProtectionAction[] = [];

  constructor(options: Partial<LoopProtectionOptions> = {}) {
    this.opts = resolveLoopProtectionOptions(options);
  }

  get options(): Readonly<LoopProtectionOptions> {
    return this.opts;
  }

  /** New settings (config reload). Turning protection off unblocks every port on the next tick. */
  configure(options: Partial<LoopProtectionOptions>): void {
    this.opts = resolveLoopProtectionOptions({ ...this.opts, ...options });
  }

  /**
   * The protected ports from the resolver (hal/linux/uplinkPorts.ts), whose resolution
   * started at `resolveStartedAtMs`. The FDB flaps during a loop, so the uplink or an ssh peer
   * may then be learned on the looping port: when own frames came back within quietMs of the
   * start or since, the new set is only added to the old one ('merged'), never replaces it.
   * Call it every 30 s and on interface changes, preferably while no loop alarm stands.
   */
  setProtected(ports: readonly ProtectedPort[], resolveStartedAtMs: number): 'replaced' | 'merged' {
    const next = new Map<string, string>();
    const add = (port: string, reason: string): void => {
      const old = next.get(port);
      if (old === undefined) next.set(port, reason);
      else if (!old.split(' and ').includes(reason)) next.set(port, `${old} and ${reason}`);
    };
    const loopSeen = this.lastOwnAnyAt > resolveStartedAtMs - this.opts.quietMs;
    if (loopSeen) for (const [port, reason] of this.protectedPorts) add(port, reason);
    for (const p of ports) add(p.port, p.reason);
    this.protectedPorts = next;
    this.protectedKnown = true;
    return loopSeen ? 'merged' : 'replaced';
  }

  /** The reason a port is protected, or null. */
  protectedReason(port: string): string | null {
    return this.protectedPorts.get(port) ?? null;
  }

  isBlocked(port: string): boolean {
    return this.byName.get(port)?.blocked === true;
  }

  /** One tick at monotonic `nowMs`. The returned list is the caller's to read, not to keep. */
  tick(nowMs: number, ports: readonly ProtectionPortInput[]): readonly ProtectionAction[] {
    this.out.length = 0;
    for (let i = 0; i < ports.length; i++) this.observe(ports[i]!, nowMs);
    if (!this.opts.enabled) {
      for (let i = 0; i < this.states.length; i++) {
        const st = this.states[i]!;
        if (st.blocked) this.unblock(st, nowMs, 'loop protection turned off');
      }
    } else {
      this.endHoldDowns(nowMs);
      this.clearRefusals(nowMs);
      if (nowMs - this.lastBlockAt >= this.opts.settleMs) this.decide(nowMs);
    }
    return this.out.length === 0 ? NO_ACTIONS : this.out.slice();
  }

  /** The view for `agent status` and MQTT; `wallNowMs` converts monotonic times to epoch ms. */
  status(nowMs: number, wallNowMs: number): ProtectionStatus {
    const wall = (ms: number): number => Math.round(wallNowMs - (nowMs - ms));
    const blocked = this.states
      .filter((st) => st.blocked)
      .sort((a, b) => a.since - b.since)
      .map((st) => ({ port: st.name, since: wall(st.since), until: wall(st.until), reason: st.reason, blocks: st.blocks }));
    const refused = this.states
      .filter((st) => st.refused !== null)
      .map((st) => ({ port: st.name, reason: st.refused! }))
      .sort((a, b) => a.port.localeCompare(b.port));
    const protectedPorts = [...this.protectedPorts].map(([port, reason]) => ({ port, reason })).sort((a, b) => a.port.localeCompare(b.port));
    const blockCounts = this.states
      .filter((st) => st.blocks > 0)
      .map((st) => ({ port: st.name, blocks: st.blocks }))
      .sort((a, b) => a.port.localeCompare(b.port));
    return { enabled: this.opts.enabled, protectedKnown: this.protectedKnown, blocked, refused, protectedPorts, blockCounts };
  }

  private observe(input: ProtectionPortInput, nowMs: number): void {
    let st = this.byName.get(input.name);
    if (st === undefined) {
      st = {
        name: input.name,
        ifindex: 0,
        carrierUpAt: NaN,
        lastOwnAt: -Infinity,
        ownRate: 0,
        blocked: false,
        since: NaN,
        until: NaN,
        reason: '',
        blocks: 0,
        unblockedAt: -Infinity,
        refused: null,
      };
      this.states.push(st);
      this.byName.set(input.name, st);
    }
    st.ifindex = input.ifindex;
    st.carrierUpAt = input.carrierUpAtMs;
    if (input.ownFramesPerS > 0) {
      st.lastOwnAt = nowMs;
      st.ownRate = input.ownFramesPerS;
      this.lastOwnAnyAt = nowMs;
    }
  }

  /** Protected ports are let go at once; others at their hold-down's end, or extended. */
  private endHoldDowns(nowMs: number): void {
    const { holdDownMs, quietMs } = this.opts;
    for (let i = 0; i < this.states.length; i++) {
      const st = this.states[i]!;
      if (!st.blocked) continue;
      const protectedBy = this.protectedPorts.get(st.name);
      if (protectedBy !== undefined) {
        this.unblock(st, nowMs, `${st.name} now carries ${protectedBy}: unblocked at once`);
      } else if (nowMs >= st.until) {
        if (nowMs - st.lastOwnAt < quietMs) {
          st.until = nowMs + holdDownMs;
          const reason =
            `own frames still returning on ${st.name} within the last ${seconds(quietMs)}: ` +
            `the loop is still cabled; blocked for another ${seconds(holdDownMs)}`;
          this.out.push({ kind: 'extend', port: st.name, reason, untilMs: st.until });
        } else {
          this.unblock(st, nowMs, `no own frames on ${st.name} for ${seconds(quietMs)}: hold-down over, unblocked to re-test`);
        }
      }
    }
  }

  private clearRefusals(nowMs: number): void {
    for (let i = 0; i < this.states.length; i++) {
      const st = this.states[i]!;
      if (st.refused !== null && nowMs - st.lastOwnAt >= this.opts.quietMs) st.refused = null;
    }
  }

  /** Blocks the preferred looping port, or reports a loop that only protected ports carry. */
  private decide(nowMs: number): void {
    const { settleMs, holdDownMs } = this.opts;
    // Own frames that count: recent, and seen after the last block had time to settle, so
    // frames still circling when that port was cut off do not condemn a second one.
    const from = Math.max(nowMs - settleMs, this.lastBlockAt + settleMs);
    let candidates: PortState[] | null = null;
    let spared: PortState[] | null = null;
    for (let i = 0; i < this.states.length; i++) {
      const st = this.states[i]!;
      if (st.blocked || !(st.lastOwnAt >= from) || !(st.lastOwnAt > st.unblockedAt)) continue;
      if (this.protectedKnown && !this.protectedPorts.has(st.name)) (candidates ??= []).push(st);
      else (spared ??= []).push(st);
    }
    if (candidates !== null) {
      candidates.sort(preferred);
      const st = candidates[0]!;
      const others = candidates.slice(1).map((c) => c.name);
      const choice = others.length > 0 ? `; chosen over ${others.join(', ')} because ${why(st, candidates[1])}` : '';
      const notThese = (spared ?? []).map((p) => `; not ${p.name}: it carries ${this.protectedPorts.get(p.name)}`).join('');
      st.blocked = true;
      st.since = nowMs;
      st.until = nowMs + holdDownMs;
      st.blocks++;
      st.refused = null;
      st.reason = `switching loop: own frames returning on ${st.name} (${round1(st.ownRate)}/s)${choice}${notThese}`;
      this.lastBlockAt = nowMs;
      const reason = `${st.reason}; blocked for ${seconds(holdDownMs)}`;
      this.out.push({ kind: 'block', port: st.name, reason, untilMs: st.until, blocks: st.blocks });
      return;
    }
    for (const st of spared ?? []) {
      if (st.refused !== null) continue;
      const protectedBy = this.protectedPorts.get(st.name);
      st.refused =
        protectedBy !== undefined
          ? `loop on ${st.name}: not blocked, it carries ${protectedBy}`
          : `loop on ${st.name}: not blocked, the uplink and ssh ports are not resolved yet`;
      this.out.push({ kind: 'refuse', port: st.name, reason: st.refused });
    }
  }

  private unblock(st: PortState, nowMs: number, reason: string): void {
    st.blocked = false;
    st.unblockedAt = nowMs;
    st.since = NaN;
    st.until = NaN;
    st.reason = '';
    this.out.push({ kind: 'unblock', port: st.name, reason });
  }
}
