/**
 * Storm and loop watch over the LAN ports: keeps the port plan in step with the board's roles,
 * feeds the storm and loop detectors from the sampler's port table every tick and from bridge
 * FDB moves as they happen, and takes the fast path when moves come in a burst.
 *
 * Detector port index = PortTable slot, so the tick path needs no lookup: both are sized to the
 * table's capacity, and a slot that changes name resets the detectors' state for it.
 *
 * Fast path: a loop makes the bridge's learned MACs flap within milliseconds of closing (measured
 * 8–45 ms in the loop lab). Three moves within a second send a probe at once and sample 100 ms
 * later, instead of waiting up to a probe interval plus a tick for the own-frames proof. A host
 * roaming between access points moves once, so it does not take this path.
 */
import type { FdbMoveListener, Hal, LoopProbe } from '../../hal/index.ts';
import { LoopDetector, StormDetector, type LoopAlarmExtras } from '../detect/index.ts';
import type { LoopOptions } from '../detect/loopOptions.ts';
import type { StormOptions } from '../detect/stormOptions.ts';
import {
  PT_ARP_PPS,
  PT_BCAST_PPS,
  PT_DHCP_PPS,
  PT_MCAST_PPS,
  PT_MDNS_PPS,
  PT_ND_PPS,
  PT_OTHER_PPS,
  PT_OWN_PS,
  PT_SSDP_PPS,
} from '../sampler/portTable.ts';
import type { Sampler } from '../sampler/sampler.ts';
import type { PortWatchStatus } from '../status/types.ts';
import { samePlan, watchPlan, type PortRoles, type WatchPlan } from './portPlan.ts';
import { ProtectionRunner, type ProtectionRunnerStatus } from './protectionRunner.ts';

export interface PortWatchLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface PortWatchOptions {
  hal: Hal;
  sampler: Sampler;
  log: PortWatchLogger;
  storm: Partial<StormOptions>;
  loop: Partial<LoopOptions>;
  /** Loop protection (config `loop`); needs the HAL's guard and protected-port resolver. */
  protection?: { enabled: boolean; holdDownMs: number; sshPorts: readonly number[] };
}

/** Moves within this window that make a burst, and the burst size that takes the fast path. */
const BURST_WINDOW_MS = 1000;
const BURST_MOVES = 3;
/** Probe, then sample this much later: long enough for the probe to go round a loop. */
const FAST_SAMPLE_DELAY_MS = 100;
/** An nft table deleted behind our back (a firewall reload) is reinstalled at most this often. */
const REAPPLY_INTERVAL_MS = 5000;

const EMPTY_PLAN: WatchPlan = { counted: null, watched: [] };

export class PortWatch {
  readonly storm: StormDetector;
  readonly loop: LoopDetector;
  private readonly hal: Hal;
  private readonly sampler: Sampler;
  private readonly log: PortWatchLogger;
  private readonly probe: LoopProbe | undefined;
  /** Loop protection, when the HAL can block ports; null otherwise. */
  readonly protection: ProtectionRunner | null = null;
  private roles: PortRoles = { wan: null, lan: [], bridge: null };
  /** 1 for slots of the current plan; the detector ports of the others get no input. */
  private readonly active: Uint8Array;
  /** Name each slot had when its detector state was last reset. */
  private readonly slotNames: string[];
  private plan: WatchPlan = EMPTY_PLAN;
  private applyError: string | null = null;
  private applying: Promise<void> = Promise.resolve();
  private reapplying = false;
  private lastReapplyAt = -Infinity;
  // [0] start of the current move burst, [1] moves in it. Typed: no boxing on the event path.
  private readonly burst = new Float64Array(2);
  private fastTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: PortWatchOptions) {
    this.hal = options.hal;
    this.sampler = options.sampler;
    this.log = options.log;
    this.probe = options.hal.probe;
    const capacity = options.sampler.ports.capacity;
    this.slotNames = new Array<string>(capacity).fill('');
    this.active = new Uint8Array(capacity);
    this.storm = new StormDetector(this.slotNames, options.storm);
    this.loop = new LoopDetector(this.slotNames, options.loop);
    this.burst[0] = -Infinity;
    options.hal.fdb?.onMove(this.onMove);
    const hal = options.hal;
    if (options.protection && hal.guard && hal.protectedPorts) {
      const runner = new ProtectionRunner({ guard: hal.guard, resolver: hal.protectedPorts, log: options.log, ...options.protection });
      this.protection = runner;
      hal.inventory.onChange((event, link) => runner.onLinkEvent(event, link));
    }
  }

  /** Installs the protection guard when `loop.protect` is on (after the first setRoles). */
  async startProtection(): Promise<void> {
    await this.protection?.start();
  }

  /** For the loop alarm: what protection did, in its reason and attributes. */
  readonly loopExtras: LoopAlarmExtras = {
    revision: () => this.protection?.revision ?? 0,
    attributes: () => {
      const p = this.protection;
      if (p === null || !p.enabled) return {};
      const status = p.status();
      return { protection: { enabled: true, blocked: status.blocked, refused: status.refused, recent: status.recent.slice(-5) } };
    },
    note: () => {
      const p = this.protection;
      if (p === null || !p.enabled) return null;
      const status = p.status();
      const parts = [
        ...status.blocked.map((b) => `${b.port} blocked by loop protection until ${new Date(b.until).toISOString().slice(11, 19)} UTC`),
        ...status.refused.map((r) => r.reason),
      ];
      return parts.length > 0 ? parts.join('; ') : null;
    },
  };

  /**
   * Follows the board's roles: installs counting for the new plan (when it differs) and points
   * the sampler and detectors at it. Never rejects: a failure is logged and shown in status, and
   * the ports are still watched through their interface counters.
   */
  setRoles(roles: PortRoles): Promise<void> {
    this.roles = roles;
    this.applying = this.applying.then(() => this.apply(watchPlan(roles, this.hal.inventory.links.values()), false));
    return this.applying;
  }

  /** Called on every sampler tick before the alarms are evaluated. Allocation-free. */
  readonly onSample = (): void => {
    const sampler = this.sampler;
    const at = sampler.clock.indexAt(0);
    const storm = this.storm;
    const loop = this.loop;
    const active = this.active;
    for (let slot = 0; slot < active.length; slot++) {
      if (active[slot] !== 1) continue;
      const row = sampler.ports.rowAt(slot);
      if (row === null) continue;
      const h = row.history;
      const bcast = h.get(PT_BCAST_PPS, at);
      const mcast = h.get(PT_MCAST_PPS, at);
      // Unknown broadcast (interface multicast fallback): the multicast rate is all we have.
      const total = bcast === bcast ? bcast + mcast : mcast;
      storm.setRates(
        slot,
        total,
        h.get(PT_ARP_PPS, at),
        h.get(PT_ND_PPS, at),
        h.get(PT_MDNS_PPS, at),
        h.get(PT_SSDP_PPS, at),
        h.get(PT_DHCP_PPS, at),
        h.get(PT_OTHER_PPS, at),
      );
      const own = h.get(PT_OWN_PS, at);
      loop.setSample(slot, own, total);
      this.protection?.setOwnFrames(row.name, own);
    }
    const now = sampler.sampledAt;
    storm.tick(now);
    loop.tick(now);
    this.protection?.tick(now);
    const health = sampler.portHealth;
    if (!health.ok && health.lastErrorCode === 'ENOENT' && !this.reapplying && now - this.lastReapplyAt >= REAPPLY_INTERVAL_MS) {
      this.reinstall(now);
    }
  };

  status(): Pick<PortWatchStatus, 'bridge' | 'counted' | 'watched' | 'countingError' | 'fdb' | 'protection'> {
    const fdb = this.hal.fdb;
    return {
      protection: this.protection?.status() ?? null,
      bridge: this.plan.counted?.bridge ?? null,
      counted: [...(this.plan.counted?.ports ?? [])],
      watched: [...this.plan.watched],
      countingError: this.applyError,
      fdb: fdb ? { moves: fdb.counts.moves, lost: fdb.counts.lost } : null,
    };
  }

  /**
   * Sends the probe every `intervalMs`, timed to leave `leadMs` before the sampler's ticks when
   * both run at the same period (call right after sampler.start()): a loop then shows in the
   * very next sample instead of up to a whole tick later. 0 = no probe.
   */
  startProbe(intervalMs: number, leadMs = 150): void {
    const probe = this.probe;
    if (!probe || intervalMs <= 0 || this.probeTimer !== null || this.closed) return;
    const offset = Math.max(0, (this.sampler.intervalMs - leadMs) % intervalMs);
    // send() never rejects; the promise it returns is dropped (one small allocation per probe,
    // once a second, off the tick path).
    const send = (): void => void probe.send();
    this.probeTimer = setTimeout(() => {
      send();
      this.probeTimer = setInterval(send, intervalMs);
    }, offset);
  }

  /** Stops timers and removes the protection guard (no port stays blocked after the agent). */
  async close(): Promise<void> {
    await this.protection?.close();
    this.closed = true;
    if (this.fastTimer) clearTimeout(this.fastTimer);
    // One handle either way: clearTimeout and clearInterval take both kinds.
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.fastTimer = null;
    this.probeTimer = null;
  }

  private async apply(next: WatchPlan, force: boolean): Promise<void> {
    if (this.closed || (!force && samePlan(next, this.plan))) return;
    const source = this.hal.ports;
    if (source && next.counted !== null) {
      try {
        await source.apply(next.counted);
        if (this.applyError !== null) this.log.info(`port counters: installed again for ${next.counted.ports.join(', ')}`);
        this.applyError = null;
      } catch (error) {
        const message = (error as Error).message;
        if (message !== this.applyError) this.log.warn(`port counters: could not count ${next.counted.ports.join(', ')}: ${message}`);
        this.applyError = message;
      }
    }
    if (this.closed) return;
    const refused = this.sampler.setPortPlan(next.watched);
    for (const name of refused) this.log.warn(`${name}: not watched: at most ${this.sampler.ports.capacity} ports at once`);
    this.plan = next;
    this.syncDetectors();
    this.protection?.setPorts(next.counted?.ports ?? [], this.roles, this.hal.inventory.links.values());
    this.probe?.setBridges(next.counted ? [{ name: next.counted.bridge }] : []);
    if (next.watched.length > 0) {
      const how = next.watched.map((name) => `${name} (${this.sampler.ports.row(name)?.source ?? 'not counted'})`);
      this.log.info(`watching ${how.join(', ')} for broadcast storms and loops`);
    }
  }

  /**
   * Slots whose port changed start from scratch in both detectors; a port that left the plan
   * is forgotten at once (a stale "loop on lan1" must not outlive lan1's unplugging).
   */
  private syncDetectors(): void {
    this.active.fill(0);
    for (const row of this.sampler.ports.rows()) {
      const name = row.planned ? row.name : '';
      if (row.planned) this.active[row.slot] = 1;
      if (this.slotNames[row.slot] !== name) {
        this.slotNames[row.slot] = name;
        this.storm.resetPort(row.slot, name);
        this.loop.resetPort(row.slot, name);
      }
    }
  }

  private reinstall(now: number): void {
    this.reapplying = true;
    this.lastReapplyAt = now;
    this.log.warn('port counters: our nftables table is gone (a firewall reload?); installing it again');
    this.applying = this.applying
      .then(() => this.apply(this.plan, true))
      .finally(() => {
        this.reapplying = false;
      });
  }

  private readonly onMove: FdbMoveListener = (oui, nic, port, fromPort, _master, _vlan, atMs) => {
    const to = this.slotOfIndex(port);
    const from = this.slotOfIndex(fromPort);
    this.loop.move(oui, nic, from, to, atMs);
    const burst = this.burst;
    if (atMs - burst[0]! > BURST_WINDOW_MS) {
      burst[0] = atMs;
      burst[1] = 0;
    }
    if (++burst[1]! === BURST_MOVES) this.fastPath();
  };

  private slotOfIndex(ifindex: number): number {
    const link = this.hal.inventory.links.get(ifindex);
    return link === undefined ? -1 : this.sampler.ports.slotOfPort(link.name);
  }

  private fastPath(): void {
    if (this.closed || this.fastTimer !== null) return;
    // Only when probing is on (loop.probeIntervalMs 0 means no probe at all); rate-limited by
    // the probe itself (one per bridge per 100 ms).
    if (this.probeTimer !== null) void this.probe?.send();
    this.fastTimer = setTimeout(this.fastSample, FAST_SAMPLE_DELAY_MS);
  }

  private readonly fastSample = (): void => {
    this.fastTimer = null;
    if (!this.closed) this.sampler.tick();
  };
}
