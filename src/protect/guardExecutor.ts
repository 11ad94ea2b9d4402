/**
 * Carries the planner's actions (loopProtection.ts) out through the guard (hal/guard.ts), and
 * keeps trying what failed. Never throws or rejects: every guard call ends as an outcome the
 * agent logs, publishes and shows.
 *
 * It reconciles rather than replays: the planner's block/unblock actions set which ports
 * SHOULD be blocked; each run makes the guard hold exactly that, port by port. So a block that
 * failed and was later overtaken by its unblock is simply dropped, never applied late. A port
 * whose last call failed is retried on a later run, at most every retryMs (nft missing or no
 * CAP_NET_ADMIN fails the same way every time; no need to spawn nft on every tick).
 *
 * `extend` and `refuse` actions change nothing in the kernel; they are only for the log.
 */
import type { PortGuard } from '../../hal/index.ts';
import type { ProtectionAction } from './loopProtection.ts';

export type GuardOp = 'install' | 'block' | 'unblock' | 'close' | 'verify';

export interface GuardOutcome {
  op: GuardOp;
  /** null for install/close. */
  port: string | null;
  ok: boolean;
  /** The guard's message for people when the call failed, else null. */
  error: string | null;
  /** Why the planner asked for it (block/unblock), else null. */
  reason: string | null;
}

export interface GuardFailure {
  op: GuardOp;
  port: string | null;
  error: string;
  /** Monotonic ms of the next attempt. */
  retryAtMs: number;
}

export interface GuardExecutorOptions {
  /** Wait at least this long (ms) before retrying a failed call. Default 10 s. */
  retryMs?: number;
}

const NOTHING: Promise<GuardOutcome[]> = Promise.resolve(Object.freeze([]) as unknown as GuardOutcome[]);
const INSTALL = '\0install';

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class GuardExecutor {
  readonly retryMs: number;
  /** Ports that should be blocked, with the planner's reason. */
  private readonly wanted = new Map<string, string>();
  /** Ports the guard confirmed blocked. */
  private readonly held = new Set<string>();
  private readonly unblockReasons = new Map<string, string>();
  /** Failed calls by port (INSTALL for the install), waiting for their retry time. */
  private readonly failed = new Map<string, GuardFailure>();
  private installed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly guard: PortGuard,
    options: GuardExecutorOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 10_000;
  }

  /**
   * Installs the guard when protection starts: replaces a table a crashed run left behind,
   * so no port stays blocked from before. A failure is retried by later runs.
   */
  start(nowMs: number): Promise<GuardOutcome[]> {
    return this.serial(async () => {
      const outcome = await this.install(nowMs);
      return outcome === null ? [] : [outcome];
    });
  }

  /** True when a failed call is due for its retry: run execute() even without new actions. */
  retryDue(nowMs: number): boolean {
    if (this.failed.size === 0) return false;
    for (const failure of this.failed.values()) if (nowMs >= failure.retryAtMs) return true;
    return false;
  }

  /** Calls that failed and wait for a retry, for `agent status`. */
  get failures(): GuardFailure[] {
    return [...this.failed.values()];
  }

  /** Ports the guard confirmed blocked. */
  get blocked(): string[] {
    return [...this.held].sort();
  }

  /**
   * Applies `actions` (from LoopProtection.tick at `nowMs`) and retries due failures.
   * Resolves with one outcome per guard call made; never rejects.
   */
  execute(actions: readonly ProtectionAction[], nowMs: number): Promise<GuardOutcome[]> {
    let changed = false;
    for (const action of actions) {
      if (action.kind === 'block') {
        this.wanted.set(action.port, action.reason);
      } else if (action.kind === 'unblock') {
        this.wanted.delete(action.port);
        this.unblockReasons.set(action.port, action.reason);
      } else {
        continue;
      }
      // A new decision about the port is tried now, whatever failed before.
      this.failed.delete(action.port);
      changed = true;
    }
    if (!changed && !this.retryDue(nowMs)) return NOTHING;
    return this.serial(() => this.reconcile(nowMs));
  }

  /**
   * Compares the kernel's blocked set with what this executor put there, and rewrites the
   * guard when they differ: a firewall reload (`nft flush ruleset`, fw4 restart) removes our
   * table behind our back, and with it every block. Call it every 30 s or so, and when the
   * port counters report their table gone (the same reload removes both). Never rejects.
   */
  verify(nowMs: number): Promise<GuardOutcome[]> {
    return this.serial(async () => {
      let kernel: string[];
      try {
        kernel = await this.guard.blocked();
      } catch (error) {
        return [{ op: 'verify', port: null, ok: false, error: message(error), reason: null }];
      }
      const held = [...this.held].sort();
      if (kernel.length === held.length && kernel.every((port, i) => port === held[i])) return [];
      const outcome: GuardOutcome = {
        op: 'verify',
        port: null,
        ok: false,
        error: `the kernel blocks [${kernel.join(', ')}], expected [${held.join(', ')}]: guard rewritten`,
        reason: null,
      };
      this.installed = false;
      this.held.clear();
      this.failed.clear();
      // Installed first even with nothing to block: a port blocked by someone else goes too.
      const install = await this.install(nowMs);
      return [outcome, ...(install === null ? [] : [install]), ...(await this.reconcile(nowMs))];
    });
  }

  /** Removes the guard (no port stays blocked after the agent); never rejects. */
  close(): Promise<GuardOutcome> {
    return this.serial(async () => {
      this.wanted.clear();
      this.failed.clear();
      try {
        await this.guard.close();
        this.held.clear();
        this.installed = false;
        return { op: 'close', port: null, ok: true, error: null, reason: null };
      } catch (error) {
        return { op: 'close', port: null, ok: false, error: message(error), reason: null };
      }
    });
  }

  private async reconcile(nowMs: number): Promise<GuardOutcome[]> {
    const outcomes: GuardOutcome[] = [];
    const toBlock = [...this.wanted.keys()].filter((port) => !this.held.has(port) && this.due(port, nowMs));
    const toUnblock = [...this.held].filter((port) => !this.wanted.has(port) && this.due(port, nowMs));
    if (toBlock.length > 0 && !this.installed) {
      const install = await this.install(nowMs);
      if (install !== null) outcomes.push(install);
      if (!this.installed) {
        // No guard, no block: each waits for the install's retry.
        for (const port of toBlock) {
          outcomes.push(this.fail('block', port, this.failed.get(INSTALL)?.error ?? 'guard not installed', this.wanted.get(port) ?? null, nowMs));
        }
        toBlock.length = 0;
      }
    }
    for (const port of toUnblock) outcomes.push(await this.call('unblock', port, this.unblockReasons.get(port) ?? null, nowMs));
    for (const port of toBlock) outcomes.push(await this.call('block', port, this.wanted.get(port) ?? null, nowMs));
    return outcomes;
  }

  private due(port: string, nowMs: number): boolean {
    const failure = this.failed.get(port);
    return failure === undefined || nowMs >= failure.retryAtMs;
  }

  /** Installs unless done or waiting for a retry; null when nothing was tried. */
  private async install(nowMs: number): Promise<GuardOutcome | null> {
    if (this.installed || !this.due(INSTALL, nowMs)) return null;
    try {
      await this.guard.install();
      this.installed = true;
      this.held.clear();
      this.failed.delete(INSTALL);
      return { op: 'install', port: null, ok: true, error: null, reason: null };
    } catch (error) {
      this.failed.set(INSTALL, { op: 'install', port: null, error: message(error), retryAtMs: nowMs + this.retryMs });
      return { op: 'install', port: null, ok: false, error: message(error), reason: null };
    }
  }

  private async call(op: 'block' | 'unblock', port: string, reason: string | null, nowMs: number): Promise<GuardOutcome> {
    try {
      if (op === 'block') await this.guard.block(port);
      else await this.guard.unblock(port);
      if (op === 'block') this.held.add(port);
      else this.held.delete(port);
      this.failed.delete(port);
      if (op === 'unblock') this.unblockReasons.delete(port);
      return { op, port, ok: true, error: null, reason };
    } catch (error) {
      return this.fail(op, port, message(error), reason, nowMs);
    }
  }

  private fail(op: GuardOp, port: string, error: string, reason: string | null, nowMs: number): GuardOutcome {
    this.failed.set(port, { op, port, error, retryAtMs: nowMs + this.retryMs });
    return { op, port, ok: false, error, reason };
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }
}
