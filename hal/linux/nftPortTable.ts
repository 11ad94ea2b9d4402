/**
 * Installs and removes the per-port counter table by running `nft -f -` once per change
 * (start, re-plan, stop), never per tick: the tick reads the counters over netlink
 * (nftPortCounters.ts). Each call is one nft transaction, so the kernel has either the old
 * table or the new one, never half of either.
 *
 * Failures become one line for people, with nft's own stderr appended:
 * - nft not installed (ENOENT from spawn);
 * - no CAP_NET_ADMIN ("Operation not permitted");
 * - kernel without nf_tables bridge support: the bridge filter chain type or an expression
 *   module is missing, which nft reports as "No such file or directory" or "not supported".
 */
import { execFile } from 'node:child_process';
import { delimiter } from 'node:path';
import { NFT_PORT_FAMILY, NFT_PORT_TABLE, type PortRuleset } from './nftPortRuleset.ts';

export interface NftRunOptions {
  /** The nft binary; looked up on PATH plus the sbin directories. Default 'nft'. */
  nftPath?: string;
  /** Kill nft and fail after this long. Default 10 s. */
  timeoutMs?: number;
}

export class NftError extends Error {
  constructor(
    message: string,
    /** 'ENOENT' (no nft), 'EPERM', 'ENOTSUP' (kernel support), 'ESYNTAX', 'ETIMEDOUT' or 'EFAILED'. */
    readonly code: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'NftError';
  }
}

// nft lives in /usr/sbin, which the PATH of a service or a non-login shell may lack.
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The environment nft runs in (also the guard's, portGuard.ts). */
export function nftEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  // LC_ALL=C: the messages we classify are the untranslated ones.
  return { ...process.env, PATH: [...path, ...SBIN.filter((dir) => !path.includes(dir))].join(delimiter), LC_ALL: 'C' };
}

/** One line for people from a failed nft run. Exported for tests. */
export function describeNftFailure(what: string, spawnCode: string | null, stderr: string, timedOut = false): NftError {
  const detail = stderr.trim().split('\n').filter(Boolean).slice(0, 6).join(' | ');
  const tail = detail ? ` (nft: ${detail})` : '';
  if (spawnCode === 'ENOENT') {
    return new NftError('nft not found: install the nftables package for per-port broadcast counters', 'ENOENT', stderr);
  }
  if (timedOut) return new NftError(`${what}: nft did not finish in time${tail}`, 'ETIMEDOUT', stderr);
  if (/Operation not permitted|Permission denied/i.test(stderr)) {
    return new NftError(`${what}: nft needs CAP_NET_ADMIN (run the agent as root or grant it cap_net_admin)${tail}`, 'EPERM', stderr);
  }
  if (/syntax error|unexpected/i.test(stderr)) {
    return new NftError(`${what}: this nft cannot parse the ruleset (nftables too old?)${tail}`, 'ESYNTAX', stderr);
  }
  if (/No such file or directory|not supported|Protocol not supported|Address family not supported/i.test(stderr)) {
    return new NftError(
      `${what}: the kernel lacks nf_tables bridge support (CONFIG_NF_TABLES_BRIDGE; on OpenWrt kmod-nft-bridge)${tail}`,
      'ENOTSUP',
      stderr,
    );
  }
  return new NftError(`${what}: nft failed${tail}`, 'EFAILED', stderr);
}

/** Runs `nft <args>` with `input` on stdin. Resolves on exit 0, rejects with an NftError. */
export function runNft(what: string, args: readonly string[], input: string, options: NftRunOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      options.nftPath ?? 'nft',
      args,
      { env: nftEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        const spawnCode = typeof error.code === 'string' ? error.code : null;
        reject(describeNftFailure(what, spawnCode, String(stderr), error.killed === true && error.signal === 'SIGKILL'));
      },
    );
    // EPIPE when nft exits before reading stdin (bad option, missing binary) is reported by
    // the exit callback above; nothing more to say here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

/** The table as the kernel should hold it. */
export interface PortTableInstaller {
  /** Replaces the table with `ruleset` in one transaction. */
  install(ruleset: PortRuleset): Promise<void>;
  /** Deletes the table; fine when there is none. */
  remove(table?: string): Promise<void>;
}

export class NftPortTable implements PortTableInstaller {
  constructor(private readonly options: NftRunOptions = {}) {}

  install(ruleset: PortRuleset): Promise<void> {
    return runNft(`installing table ${NFT_PORT_FAMILY} ${ruleset.table}`, ['-f', '-'], ruleset.text, this.options);
  }

  /** Validates `ruleset` against the kernel without committing it (`nft -c`): the start-up probe. */
  check(ruleset: PortRuleset): Promise<void> {
    return runNft(`checking table ${NFT_PORT_FAMILY} ${ruleset.table}`, ['-c', '-f', '-'], ruleset.text, this.options);
  }

  remove(table: string = NFT_PORT_TABLE): Promise<void> {
    // Same add-then-delete pair as the ruleset's head: succeeds whether or not it exists.
    const text = `table ${NFT_PORT_FAMILY} ${table} {}\ndelete table ${NFT_PORT_FAMILY} ${table}\n`;
    return runNft(`removing table ${NFT_PORT_FAMILY} ${table}`, ['-f', '-'], text, this.options);
  }
}
