/**
 * The loop-protection guard on Linux: `table bridge lanwatch_guard` (portGuardRuleset.ts),
 * written by running `nft -f -` once per change. Changes are rare (a loop is found, a
 * hold-down ends), so a process per change is fine and keeps nft's parser between us and the
 * kernel, as nftPortTable.ts does for the counter table.
 *
 * Runs are serialised: two overlapping nft runs could commit in either order. `current` is
 * what the last successful commit holds; a failed run leaves it (and the kernel) as it was.
 *
 * After a port is blocked, its learned FDB entries are flushed (sysfs brport/flush): during
 * the loop the bridge learned hosts' MACs on the looping port, and unicast to them would go
 * out there, into the drop, until the entries age out (bridge ageing_time, 300 s by default).
 * Flushed, that unicast floods to the other ports until the hosts are learned again. Best
 * effort: a failed flush only delays recovery, it never fails the block.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PortGuard } from '../index.ts';
import { describeNftFailure, NftError, nftEnv, runNft, type NftRunOptions } from './nftPortTable.ts';
import {
  buildGuardRemoval,
  buildGuardRuleset,
  checkGuardPort,
  NFT_GUARD_FAMILY,
  NFT_GUARD_SET,
  NFT_GUARD_TABLE,
  parseGuardSetListing,
} from './portGuardRuleset.ts';

export interface NftPortGuardOptions extends NftRunOptions {
  /** Table name; default 'lanwatch_guard'. */
  table?: string;
  /** Root of the sysfs tree for the FDB flush; default '/'. */
  root?: string;
  /** Flush a port's learned FDB entries after blocking it; default true. */
  flushFdb?: boolean;
}

/** describeNftFailure's wording, with the missing-nft hint naming this feature. */
function forGuard(error: unknown): unknown {
  if (error instanceof NftError && error.code === 'ENOENT') {
    return new NftError('nft not found: install the nftables package for loop protection', 'ENOENT', error.stderr);
  }
  return error;
}

/** Runs `nft args` and resolves with its stdout; rejects like runNft. */
function nftOutput(what: string, args: readonly string[], options: NftRunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      options.nftPath ?? 'nft',
      args,
      { env: nftEnv(), timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(String(stdout));
        const spawnCode = typeof error.code === 'string' ? error.code : null;
        reject(forGuard(describeNftFailure(what, spawnCode, String(stderr), error.killed === true && error.signal === 'SIGKILL')));
      },
    );
    // Nothing to say on stdin; closed so nft (or a wrapper) never waits on it.
    child.stdin?.on('error', () => {});
    child.stdin?.end();
  });
}

export class NftPortGuard implements PortGuard {
  private readonly table: string;
  private readonly root: string;
  private readonly flushFdb: boolean;
  private readonly nft: NftRunOptions;
  private current = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: NftPortGuardOptions = {}) {
    this.table = options.table ?? NFT_GUARD_TABLE;
    this.root = options.root ?? '/';
    this.flushFdb = options.flushFdb ?? true;
    this.nft = { nftPath: options.nftPath, timeoutMs: options.timeoutMs };
  }

  /** Ports blocked by this guard's last successful change (no kernel read). */
  get ports(): readonly string[] {
    return [...this.current].sort();
  }

  install(): Promise<void> {
    return this.serial(async () => {
      this.closed = false;
      await this.write(new Set(), `installing table ${NFT_GUARD_FAMILY} ${this.table}`);
    });
  }

  block(port: string): Promise<void> {
    return this.serial(async () => {
      this.checkOpen();
      checkGuardPort(port);
      const next = new Set(this.current).add(port);
      await this.write(next, `blocking port ${port} (table ${NFT_GUARD_FAMILY} ${this.table})`);
      if (this.flushFdb) await this.flushLearned(port);
    });
  }

  unblock(port: string): Promise<void> {
    return this.serial(async () => {
      this.checkOpen();
      const next = new Set(this.current);
      next.delete(port);
      await this.write(next, `unblocking port ${port} (table ${NFT_GUARD_FAMILY} ${this.table})`);
    });
  }

  blocked(): Promise<string[]> {
    return this.serial(async () => {
      const what = `reading set ${NFT_GUARD_SET} of table ${NFT_GUARD_FAMILY} ${this.table}`;
      try {
        return parseGuardSetListing(await nftOutput(what, ['-j', 'list', 'set', NFT_GUARD_FAMILY, this.table, NFT_GUARD_SET], this.nft));
      } catch (error) {
        // No table (never installed, closed, or flushed by a firewall reload): nothing is blocked.
        if (error instanceof NftError && /No such file or directory/.test(error.stderr)) return [];
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true;
      await runNft(`removing table ${NFT_GUARD_FAMILY} ${this.table}`, ['-f', '-'], buildGuardRemoval(this.table), this.nft).catch(
        (error: unknown) => {
          throw forGuard(error);
        },
      );
      this.current = new Set();
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`loop protection guard (table ${NFT_GUARD_FAMILY} ${this.table}) is closed`);
  }

  private async write(ports: Set<string>, what: string): Promise<void> {
    const text = buildGuardRuleset(ports, this.table);
    try {
      await runNft(what, ['-f', '-'], text, this.nft);
    } catch (error) {
      throw forGuard(error);
    }
    this.current = ports;
  }

  private async flushLearned(port: string): Promise<void> {
    // Interface names never hold '/'; refuse one anyway rather than write elsewhere in sysfs.
    if (port.includes('/') || port === '.' || port === '..') return;
    await writeFile(join(this.root, 'sys/class/net', port, 'brport/flush'), '1\n').catch(() => {});
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }
}
