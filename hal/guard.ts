/**
 * The HAL contract of the loop-protection guard: which bridge ports are cut off (every frame
 * dropped in both directions) while a switching loop runs through them. Types only; the nft
 * implementation is hal/linux/portGuard.ts, the scripted one hal/fake/fakeGuard.ts.
 *
 * Kept beside hal/index.ts rather than in it so the guard can land on its own; the agent core
 * (src/protect) depends on this interface only, never on hal/linux.
 */

/** A port that loop protection must never block, and why, phrased to follow "it carries …". */
export interface ProtectedPort {
  port: string;
  reason: string;
}

export interface PortGuard {
  /**
   * Replaces whatever a previous (crashed) run left with a guard that blocks nothing.
   * Rejects with a message for people (nft missing, no CAP_NET_ADMIN, no bridge support).
   */
  install(): Promise<void>;
  /** Drops every frame entering or leaving `port`. Resolves once the kernel holds it. */
  block(port: string): Promise<void>;
  /** Lets `port` pass again; fine when it is not blocked. */
  unblock(port: string): Promise<void>;
  /** The ports the kernel blocks now, read back from the kernel (sorted). */
  blocked(): Promise<string[]>;
  /** Removes the guard from the kernel: no port stays blocked after the agent. */
  close(): Promise<void>;
}
