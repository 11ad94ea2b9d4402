/**
 * A scripted loop-protection guard for unit tests and `--demo`: keeps the blocked set in
 * memory, records every call in order, and fails the calls a test asks it to.
 */
import type { PortGuard } from '../index.ts';

export type FakeGuardOp = 'install' | 'block' | 'unblock' | 'blocked' | 'close';

export interface FakeGuardCall {
  op: FakeGuardOp;
  port: string | null;
  /** The error the call rejected with, or null. */
  error: string | null;
}

export class FakeGuard implements PortGuard {
  readonly calls: FakeGuardCall[] = [];
  /** Errors to reject the next calls of an op with, first in first out. */
  private readonly failures = new Map<FakeGuardOp, Error[]>();
  private readonly ports = new Set<string>();
  installed = false;

  /** The next `times` calls of `op` reject with `error`. */
  failNext(op: FakeGuardOp, error: Error | string, times = 1): void {
    const list = this.failures.get(op) ?? [];
    for (let i = 0; i < times; i++) list.push(typeof error === 'string' ? new Error(error) : error);
    this.failures.set(op, list);
  }

  /** What the "kernel" blocks now, sorted. */
  get blockedNow(): string[] {
    return [...this.ports].sort();
  }

  /** Calls as "op" or "op port", for compact assertions. */
  get summary(): string[] {
    return this.calls.map((c) => `${c.op}${c.port === null ? '' : ` ${c.port}`}${c.error === null ? '' : ' (failed)'}`);
  }

  async install(): Promise<void> {
    this.call('install', null);
    this.ports.clear();
    this.installed = true;
  }

  async block(port: string): Promise<void> {
    this.call('block', port);
    this.ports.add(port);
  }

  async unblock(port: string): Promise<void> {
    this.call('unblock', port);
    this.ports.delete(port);
  }

  async blocked(): Promise<string[]> {
    this.call('blocked', null);
    return this.blockedNow;
  }

  async close(): Promise<void> {
    this.call('close', null);
    this.ports.clear();
    this.installed = false;
  }

  /** Records the call; throws (before any effect) when a failure is queued for `op`. */
  private call(op: FakeGuardOp, port: string | null): void {
    const error = this.failures.get(op)?.shift() ?? null;
    this.calls.push({ op, port, error: error?.message ?? null });
    if (error) throw error;
  }
}
