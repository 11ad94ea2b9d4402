import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openNftPortCounters } from '../../../hal/linux/nftPortCounters.ts';
import { buildPortRuleset } from '../../../hal/linux/nftPortRuleset.ts';
import { describeNftFailure, NftPortTable } from '../../../hal/linux/nftPortTable.ts';
import { mockTransportFactory } from '../../../hal/netlink/mockTransport.ts';

const dir = mkdtempSync(join(tmpdir(), 'lanwatch-nft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in nft: appends "args|stdin" per call to `log`, prints `stderr`, exits `code`. */
function fakeNft(name: string, code = 0, stderr = ''): { path: string; calls(): string[][] } {
  const path = join(dir, name);
  const log = `${path}.log`;
  writeFileSync(
    path,
    `#!/bin/sh\n{ printf '%s ' "$@"; printf '|'; cat; printf '\\0'; } >> '${log}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls: () => {
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch {
        return [];
      }
      return text.split('\0').filter(Boolean).map((call) => call.split('|'));
    },
  };
}

const plan = { bridge: 'br-lan', bridgeMac: '02:88:00:00:00:01', ports: ['lan1'] };

describe('NftPortTable', () => {
  it('installs the whole ruleset with one `nft -f -`, text on stdin', async () => {
    const nft = fakeNft('nft-ok');
    const ruleset = buildPortRuleset(plan);
    await new NftPortTable({ nftPath: nft.path }).install(ruleset);
    expect(nft.calls()).toEqual([['-f - ', ruleset.text]]);
  });

  it('removes the table in a transaction that also succeeds when there is none', async () => {
    const nft = fakeNft('nft-rm');
    await new NftPortTable({ nftPath: nft.path }).remove();
    expect(nft.calls()).toEqual([['-f - ', 'table bridge lanwatch {}\ndelete table bridge lanwatch\n']]);
  });

  it('checks with `nft -c` (kernel-validated, nothing committed)', async () => {
    const nft = fakeNft('nft-check');
    await new NftPortTable({ nftPath: nft.path }).check(buildPortRuleset(plan));
    expect(nft.calls()[0]![0]).toBe('-c -f - ');
  });

  it('says how to get nft when it is missing', async () => {
    const table = new NftPortTable({ nftPath: join(dir, 'no-such-nft') });
    await expect(table.install(buildPortRuleset(plan))).rejects.toMatchObject({
      code: 'ENOENT',
      message: 'nft not found: install the nftables package for per-port broadcast counters',
    });
  });

  it("rejects with nft's stderr in the message", async () => {
    const nft = fakeNft('nft-perm', 1, 'netlink: Error: cache initialization failed: Operation not permitted');
    const error = await new NftPortTable({ nftPath: nft.path }).install(buildPortRuleset(plan)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EPERM' });
    expect((error as Error).message).toContain('CAP_NET_ADMIN');
    expect((error as Error).message).toContain('cache initialization failed: Operation not permitted');
  });
});

describe('describeNftFailure', () => {
  // stderr as nft 1.0.6 prints it on Linux 6.18.
  it.each([
    ['netlink: Error: cache initialization failed: Operation not permitted', 'EPERM', /needs CAP_NET_ADMIN/],
    [
      "/dev/stdin:9:7-9: Error: No such file or directory; did you mean chain 'prerouting' in table bridge 'lanwatch'?",
      'ENOTSUP',
      /kernel lacks nf_tables bridge support/,
    ],
    ['Error: Could not process rule: Operation not supported', 'ENOTSUP', /kernel lacks nf_tables bridge support/],
    ["/dev/stdin:7:136-136: Error: syntax error, unexpected '}', expecting newline or semicolon", 'ESYNTAX', /cannot parse/],
    ['Error: Could not process rule: Device or resource busy', 'EFAILED', /nft failed/],
  ])('%s → %s', (stderr, code, message) => {
    const error = describeNftFailure('installing table bridge lanwatch', null, stderr);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(stderr.split(': Error: ').pop()!.slice(0, 20));
  });

  it('names a time-out', () => {
    expect(describeNftFailure('x', null, '', true)).toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('openNftPortCounters (start-up probe)', () => {
  it('returns no source and the reason when nft is missing', async () => {
    const { source, status } = await openNftPortCounters({ transport: mockTransportFactory(), nftPath: join(dir, 'no-such-nft') });
    expect(source).toBeNull();
    expect(status).toEqual({ backend: 'none', detail: 'port counters off: nft not found: install the nftables package for per-port broadcast counters' });
  });

  it('returns the source when `nft -c` accepts a sample ruleset', async () => {
    const nft = fakeNft('nft-probe');
    const factory = mockTransportFactory();
    const { source, status } = await openNftPortCounters({ transport: factory, nftPath: nft.path });
    expect(status.backend).toBe('nftables');
    expect(source).not.toBeNull();
    expect(nft.calls()).toHaveLength(1);
    expect(nft.calls()[0]![0]).toBe('-c -f - ');
    expect(factory.created).toHaveLength(1);
    await source!.close();
  });
});
