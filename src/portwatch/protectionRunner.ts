/**
 * Runs loop protection (config `loop.protect`) for the port watch: feeds the planner
 * (src/protect/loopProtection.ts) every tick with each watched port's own frames, ifindex and
 * carrier time, carries its actions out through the HAL's guard, keeps the protected ports
 * (WAN, uplink, ssh sessions) current, and keeps a short history of what it did for the log,
 * `agent status` and the loop alarm's attributes on MQTT.
 *
 * The protected set is resolved every 30 s and on role changes; while a loop runs the planner
 * only merges it (the FDB flaps then, and the uplink may seem to sit on the looping port). The
 * guard is re-checked on the same timer, so a firewall reload that dropped our table is undone.
 */
import type { LinkEvent, LinkInfo, PortGuard, ProtectedPortResolver } from '../../hal/index.ts';
import { GuardExecutor, type GuardOutcome } from '../protect/guardExecutor.ts';
import { LoopProtection, type ProtectionAction, type ProtectionPortInput, type ProtectionStatus } from '../protect/loopProtection.ts';
import type { PortRoles } from './portPlan.ts';

export interface ProtectionRunnerLogger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

export interface ProtectionRunnerOptions {
  guard: PortGuard;
  resolver: ProtectedPortResolver;
  enabled: boolean;
  holdDownMs: number;
  sshPorts: readonly number[];
  log: ProtectionRunnerLogger;
  /** Monotonic ms; performance.now() by default. */
  now?: () => number;
}

/** One thing protection did (or failed to do), for status and MQTT. */
export interface ProtectionEvent {
  /** Epoch ms. */
  at: number;
  kind: ProtectionAction['kind'] | 'install' | 'failed';
  port: string | null;
  reason: string;
}

export interface ProtectionRunnerStatus extends ProtectionStatus {
  /** Guard calls that failed and wait for a retry. */
  failures: { op: string; port: string | null; error: string }[];
  /** The latest actions, newest last. */
  recent: ProtectionEvent[];
}

const REFRESH_INTERVAL_MS = 30_000;
const RECENT_EVENTS = 20;

export class ProtectionRunner {
  private readonly planner: LoopProtection;
  private readonly executor: GuardExecutor;
  private readonly options: ProtectionRunnerOptions;
  private readonly now: () => number;
  /** Inputs per port name, made once and updated in place: the tick builds nothing. */
  private readonly inputs = new Map<string, ProtectionPortInput>();
  private active: ProtectionPortInput[] = [];
  private roles: PortRoles = { wan: null, lan: [], bridge: null };
  private readonly recent: ProtectionEvent[] = [];
  /** Links whose carrier is up, and when it came up while we watched. */
  private readonly wasUp = new Set<string>();
  private readonly carrierUpAt = new Map<string, number>();
  private seeded = false;
  private timer: NodeJS.Timeout | null = null;
  private refreshing = false;
  private started = false;
  private closed = false;
  /** Moves with every action: the loop alarm's attributes include this runner's status. */
  revision = 0;

  constructor(options: ProtectionRunnerOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.planner = new LoopProtection({ enabled: options.enabled, holdDownMs: options.holdDownMs });
    this.executor = new GuardExecutor(options.guard);
  }

  get enabled(): boolean {
    return this.planner.options.enabled;
  }

  /**
   * Installs the guard (replacing a crashed run's), resolves the ports to spare and starts the
   * refresh timer. Call after the first setPorts(), so the bridge and WAN are known.
   */
  async start(): Promise<void> {
    if (!this.enabled || this.started) return;
    this.started = true;
    this.report(await this.executor.start(this.now()));
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  /** The watched ports changed (new plan): inputs for exactly these. */
  setPorts(names: readonly string[], roles: PortRoles, links: Iterable<LinkInfo>): void {
    this.roles = roles;
    const byName = new Map<string, LinkInfo>();
    for (const link of links) {
      byName.set(link.name, link);
      // Up before we looked: no carrier time, which is not "just plugged in".
      if (!this.seeded && link.operState === 'up') this.wasUp.add(link.name);
    }
    this.seeded = true;
    this.active = names.map((name) => {
      let input = this.inputs.get(name);
      if (input === undefined) {
        input = { name, ifindex: 0, carrierUpAtMs: NaN, ownFramesPerS: NaN };
        this.inputs.set(name, input);
      }
      input.ifindex = byName.get(name)?.index ?? 0;
      input.carrierUpAtMs = this.carrierUpAt.get(name) ?? NaN;
      return input;
    });
    if (this.started) void this.refresh();
  }

  /**
   * Inventory events: when each port's carrier came up (the loose cable just plugged in is the
   * one to block). Ports already up when first seen have no such time (NaN: sorts as oldest).
   */
  onLinkEvent(event: LinkEvent, link: LinkInfo): void {
    const up = event !== 'removed' && link.operState === 'up';
    const input = this.inputs.get(link.name);
    if (input !== undefined) input.ifindex = event === 'removed' ? 0 : link.index;
    if (up && !this.wasUp.has(link.name)) {
      this.wasUp.add(link.name);
      const at = this.now();
      this.carrierUpAt.set(link.name, at);
      if (input !== undefined) input.carrierUpAtMs = at;
    } else if (!up) {
      this.wasUp.delete(link.name);
    }
  }

  /** Own frames per second of a port this tick (NaN unknown). Allocation-free. */
  setOwnFrames(name: string, ownFramesPerS: number): void {
    const input = this.inputs.get(name);
    if (input !== undefined) input.ownFramesPerS = ownFramesPerS;
  }

  /** Every tick, after setOwnFrames for each port. Allocation-free unless there is an action. */
  tick(nowMs: number): void {
    if (this.closed) return;
    const actions = this.planner.tick(nowMs, this.active);
    if (actions.length > 0) this.noteActions(actions);
    if (actions.length > 0 || this.executor.retryDue(nowMs)) {
      void this.executor.execute(actions, nowMs).then((outcomes) => this.report(outcomes));
    }
  }

  status(): ProtectionRunnerStatus {
    return {
      ...this.planner.status(this.now(), Date.now()),
      failures: this.executor.failures.map((f) => ({ op: f.op, port: f.port, error: f.error })),
      recent: [...this.recent],
    };
  }

  /** Removes the guard: no port stays blocked after the agent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (!this.enabled) return;
    this.report([await this.executor.close()]);
  }

  /** Re-resolves the protected ports and re-checks the guard; never rejects. */
  private async refresh(): Promise<void> {
    if (this.refreshing || this.closed) return;
    this.refreshing = true;
    try {
      const startedAt = this.now();
      const { ports, notes } = await this.options.resolver({ bridge: this.roles.bridge, wan: this.roles.wan, sshPorts: this.options.sshPorts });
      const how = this.planner.setProtected(ports, startedAt);
      const list = ports.map((p) => `${p.port} (${p.reason})`).join(', ') || 'none found';
      this.options.log.debug(`loop protection: never blocks ${list}${how === 'merged' ? ' (merged with the previous set: a loop is running)' : ''}`);
      for (const note of notes) this.options.log.debug(`loop protection: ${note}`);
      this.report(await this.executor.verify(this.now()));
    } catch (error) {
      this.options.log.warn(`loop protection: could not resolve the ports to spare: ${(error as Error).message}`);
    } finally {
      this.refreshing = false;
    }
  }

  private noteActions(actions: readonly ProtectionAction[]): void {
    const log = this.options.log;
    for (const action of actions) {
      this.remember(action.kind, action.port, action.reason);
      switch (action.kind) {
        case 'block':
          log.warn(`loop protection: blocking ${action.port} for ${Math.round((action.untilMs - this.now()) / 1000)} s (block #${action.blocks}): ${action.reason}`);
          break;
        case 'extend':
          log.warn(`loop protection: ${action.port} stays blocked: ${action.reason}`);
          break;
        case 'unblock':
          log.info(`loop protection: unblocking ${action.port}: ${action.reason}`);
          break;
        case 'refuse':
          log.warn(`loop protection: not blocking ${action.port}: ${action.reason}`);
          break;
      }
    }
  }

  private report(outcomes: readonly GuardOutcome[]): void {
    // The kernel now holds (or refused) what was decided: let the alarm's attributes say so.
    if (outcomes.length > 0) this.revision++;
    for (const outcome of outcomes) {
      if (outcome.ok) {
        if (outcome.op === 'install') this.remember('install', null, 'guard table installed; nothing blocked');
        continue;
      }
      const what = outcome.port === null ? outcome.op : `${outcome.op} ${outcome.port}`;
      this.options.log.warn(`loop protection: ${what} failed: ${outcome.error ?? 'unknown error'} (retried every ${this.executor.retryMs / 1000} s)`);
      this.remember('failed', outcome.port, `${outcome.op}: ${outcome.error ?? 'unknown error'}`);
    }
  }

  private remember(kind: ProtectionEvent['kind'], port: string | null, reason: string): void {
    this.recent.push({ at: Date.now(), kind, port, reason });
    if (this.recent.length > RECENT_EVENTS) this.recent.shift();
    this.revision++;
  }
}
