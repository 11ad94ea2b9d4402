import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NftPortGuard } from '../../../hal/linux/portGuard.ts';
import { buildGuardRemoval, buildGuardRuleset, parseGuardSetListing } from '../../../hal/linux/portGuardRuleset.ts';

const dir = mkdtempSync(join(tmpdir(), 'lanwatch-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in nft: appends "args|stdin" per call to its log, prints `stdout` and `stderr`,
 * exits `code`. Rewritable, so one guard can meet a failing nft and then a working one.
 */
function fakeNft(name: string) {
  const path = join(dir, name);
  const log = `${path}.log`;
  const script = (code: number, stdout = '', stderr = ''): void => {
    writeFileSync(
      path,
      [
        '#!/bin/sh',
        `{ printf '%s ' "$@"; printf '|'; cat; printf '\\0'; } >> '${log}'`,
        `printf '%s' '${stdout}'`,
        `printf '%s' '${stderr}' >&2`,
        `exit ${code}`,
        '',
      ].join('\n'),
    );
    chmodSync(path, 0o755);
  };
  script(0);
  return {
    path,
    script,
    calls: (): string[][] => {
      try {
        return readFileSync(log, 'utf8').split('\0').filter(Boolean).map((call) => call.split('|'));
      } catch {
        return [];
      }
    },
  };
}

/** A sysfs tree with brport/flush files for `ports`. */
function sysTree(name: string, ports: string[]): string {
  const root = join(dir, name);
  for (const port of ports) {
    mkdirSync(join(root, 'sys/class/net', port, 'brport'), { recursive: true });
    writeFileSync(join(root, 'sys/class/net', port, 'brport/flush'), '');
  }
  return root;
}

const flushed = (root: string, port: string): string => readFileSync(join(root, 'sys/class/net', port, 'brport/flush'), 'utf8');

describe('guard ruleset', () => {
  it('replaces any old table with one that drops every frame in and out of the blocked ports, after the counters', () => {
    expect(buildGuardRuleset(['lan3', 'eth0.10', 'lan3'])).toBe(
      [
        '# lanwatch loop protection: bridge ports cut off while a loop runs through them. Generated;',
        '# replaced as a whole on every change, removed when the agent stops.',
        'table bridge lanwatch_guard {}',
        'delete table bridge lanwatch_guard',
        'table bridge lanwatch_guard {',
        '\tset blocked { type ifname; elements = { "eth0.10", "lan3" }; }',
        '\tchain prerouting {',
        '\t\ttype filter hook prerouting priority -200; policy accept;',
        '\t\tiifname @blocked counter drop',
        '\t}',
        '\tchain postrouting {',
        '\t\ttype filter hook postrouting priority -200; policy accept;',
        '\t\toifname @blocked counter drop',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
    expect(buildGuardRuleset([])).toContain('\tset blocked { type ifname; }\n');
    expect(buildGuardRemoval()).toBe('table bridge lanwatch_guard {}\ndelete table bridge lanwatch_guard\n');
  });

  it('refuses a port name nft cannot match literally', () => {
    expect(() => buildGuardRuleset(['lan*'])).toThrow(/cannot block port lan\*/);
    expect(() => buildGuardRuleset(['a-name-longer-than-15'])).toThrow(/1-15 printable/);
  });

  it('reads the set back from `nft -j list set` (nft 1.0.6 output)', () => {
    const listing = (elem?: string[]): string =>
      JSON.stringify({
        nftables: [
          { metainfo: { version: '1.0.6', json_schema_version: 1 } },
          { set: { family: 'bridge', name: 'blocked', table: 'lanwatch_guard', type: 'ifname', handle: 3, ...(elem ? { elem } : {}) } },
        ],
      });
    expect(parseGuardSetListing(listing(['lan3', 'eth0.10']))).toEqual(['eth0.10', 'lan3']);
    expect(parseGuardSetListing(listing())).toEqual([]);
  });
});

describe('NftPortGuard', () => {
  it('installs an empty guard, blocks and unblocks by rewriting the table, and removes it on close', async () => {
    const nft = fakeNft('nft-ok');
    const root = sysTree('sys-ok', ['lan3', 'lan4']);
    const guard = new NftPortGuard({ nftPath: nft.path, root });
    await guard.install();
    await guard.block('lan3');
    await guard.block('lan4');
    await guard.unblock('lan3');
    await guard.unblock('lan9'); // not blocked: still fine
    expect(guard.ports).toEqual(['lan4']);
    await guard.close();
    expect(guard.ports).toEqual([]);
    expect(nft.calls()).toEqual([
      ['-f - ', buildGuardRuleset([])],
      ['-f - ', buildGuardRuleset(['lan3'])],
      ['-f - ', buildGuardRuleset(['lan3', 'lan4'])],
      ['-f - ', buildGuardRuleset(['lan4'])],
      ['-f - ', buildGuardRuleset(['lan4'])],
      ['-f - ', buildGuardRemoval()],
    ]);
    // Learned MACs on a port just blocked are flushed, so unicast to them floods elsewhere.
    expect(flushed(root, 'lan3')).toBe('1\n');
    expect(flushed(root, 'lan4')).toBe('1\n');
    await expect(guard.block('lan3')).rejects.toThrow(/guard .* is closed/);
  });

  it('keeps the old set when nft fails, and says what is missing', async () => {
    const nft = fakeNft('nft-perm');
    const guard = new NftPortGuard({ nftPath: nft.path, root: sysTree('sys-perm', ['lan3']) });
    await guard.block('lan3');
    nft.script(1, '', 'netlink: Error: cache initialization failed: Operation not permitted');
    const error = await guard.block('lan4').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EPERM' });
    expect((error as Error).message).toMatch(/^blocking port lan4 \(table bridge lanwatch_guard\): nft needs CAP_NET_ADMIN/);
    expect(guard.ports).toEqual(['lan3']);
    nft.script(0);
    await guard.block('lan5');
    expect(nft.calls().at(-1)).toEqual(['-f - ', buildGuardRuleset(['lan3', 'lan5'])]);
  });

  it('names loop protection when nft is not installed', async () => {
    const guard = new NftPortGuard({ nftPath: join(dir, 'no-such-nft') });
    await expect(guard.install()).rejects.toMatchObject({
      code: 'ENOENT',
      message: 'nft not found: install the nftables package for loop protection',
    });
    await expect(guard.close()).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects a bad port name before running nft', async () => {
    const nft = fakeNft('nft-name');
    await expect(new NftPortGuard({ nftPath: nft.path }).block('bad"name')).rejects.toThrow(/cannot block port/);
    expect(nft.calls()).toEqual([]);
  });

  it('blocks even when the FDB flush cannot be written (best effort)', async () => {
    const nft = fakeNft('nft-noflush');
    const guard = new NftPortGuard({ nftPath: nft.path, root: join(dir, 'no-sysfs') });
    await guard.block('lan3');
    expect(guard.ports).toEqual(['lan3']);
  });

  it('reads the blocked ports back from the kernel; no table means none', async () => {
    const nft = fakeNft('nft-list');
    const listing = { nftables: [{ set: { family: 'bridge', name: 'blocked', table: 'lanwatch_guard', type: 'ifname', elem: ['lan4', 'lan3'] } }] };
    nft.script(0, JSON.stringify(listing));
    const guard = new NftPortGuard({ nftPath: nft.path });
    expect(await guard.blocked()).toEqual(['lan3', 'lan4']);
    expect(nft.calls()[0]![0]).toBe('-j list set bridge lanwatch_guard blocked ');
    nft.script(1, '', 'Error: No such file or directory\nlist set bridge lanwatch_guard blocked');
    expect(await guard.blocked()).toEqual([]);
  });
});
