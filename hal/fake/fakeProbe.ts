/**
 * A loop probe that sends nothing and records what it was asked to send: for unit tests of
 * the agent's probe schedule and for `agent run --demo`. Same public interface as the real one
 * (LoopProbe, hal/linux/broadcastProbe.ts), same rate limit per bridge, a scripted `via` per
 * bridge (null: "no address: probe off") and a scripted failure.
 */
import type { LoopProbe, LoopProbeBridge, ProbeBridgeStatus, ProbeVia } from '../index.ts';
import { PROBE_OFF_DETAIL } from '../linux/probeAddress.ts';

export interface FakeProbeBridge extends LoopProbeBridge {
  /** How this bridge's probes would leave; default 'ipv4-broadcast'. null: no address. */
  via?: ProbeVia | null;
}

export interface FakeProbeSend {
  bridge: string;
  seq: number;
  /** The injected clock's ms at the send. */
  at: number;
}

export interface FakeProbeOptions {
  /** Default 100 ms, as the real probe. */
  minIntervalMs?: number;
  /** ms; default Date.now. */
  now?: () => number;
}

interface FakeBridgeState {
  name: string;
  via: ProbeVia | null;
  seq: number;
  sent: number;
  failed: number;
  skipped: number;
  lastError: string | null;
  lastSentAt: number | null;
  lastAttemptAt: number;
}

function fakeDestination(name: string, via: ProbeVia | null): string | null {
  if (via === 'ipv4-broadcast') return '192.0.2.255:9';
  if (via === 'ipv6-all-nodes') return `[ff02::1%${name}]:9`;
  return null;
}

export class FakeLoopProbe implements LoopProbe {
  readonly nonceHex = '00000000fa4e0000';
  /** Every probe "sent", in order. */
  readonly sends: FakeProbeSend[] = [];
  /** Times refresh() was called. */
  refreshes = 0;
  closed = false;
  /** When set, the next send of each bridge fails with it (then it is cleared). */
  failNext: Error | null = null;
  private states: FakeBridgeState[] = [];
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  constructor(bridges: readonly FakeProbeBridge[], options: FakeProbeOptions = {}) {
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.now = options.now ?? Date.now;
    this.setBridges(bridges);
  }

  async send(bridge?: string): Promise<number> {
    if (this.closed) return 0;
    const now = this.now();
    let accepted = 0;
    for (const state of this.states) {
      if ((bridge !== undefined && state.name !== bridge) || state.via === null) continue;
      if (now - state.lastAttemptAt < this.minIntervalMs) {
        state.skipped++;
        continue;
      }
      state.lastAttemptAt = now;
      if (this.failNext) {
        state.failed++;
        state.lastError = this.failNext.message;
        continue;
      }
      state.seq++;
      state.sent++;
      state.lastSentAt = now;
      this.sends.push({ bridge: state.name, seq: state.seq, at: now });
      accepted++;
    }
    this.failNext = null;
    return accepted;
  }

  refresh(): void {
    this.refreshes++;
  }

  setBridges(bridges: readonly FakeProbeBridge[]): void {
    const kept = new Map(this.states.map((state) => [state.name, state]));
    this.states = bridges.map((bridge) => {
      const via = bridge.via === undefined ? 'ipv4-broadcast' : bridge.via;
      const old = kept.get(bridge.name);
      if (old) return { ...old, via };
      return { name: bridge.name, via, seq: 0, sent: 0, failed: 0, skipped: 0, lastError: null, lastSentAt: null, lastAttemptAt: -Infinity };
    });
  }

  status(): ProbeBridgeStatus[] {
    return this.states.map((state) => ({
      bridge: state.name,
      via: state.via,
      destination: fakeDestination(state.name, state.via),
      sent: state.sent,
      failed: state.failed,
      skipped: state.skipped,
      lastError: state.lastError,
      lastSentAt: state.lastSentAt,
      detail: state.via === null ? PROBE_OFF_DETAIL : null,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
