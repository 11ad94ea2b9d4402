/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx conntrackHostsProbe.ts OPTIONS`)
 * and follows the conntrack table per host with the real LinuxConntrackHosts source.
 * OPTIONS is a JSON LinuxConntrackHostsOptions (without log). Protocol, one JSON object per line:
 * prints {"ready":true,...} once the first dump landed; answers stdin lines
 *   "report N"  with a ConntrackHostsReport whose seq is N,
 *   "dump N"    with the same after a full dump (its error in `error`),
 *   "stall MS N" by blocking its event loop MS ms (events pile up in the socket), then {"stalled":N};
 * closes the source and exits when stdin ends. Test-side code: it formats every address.
 */
import { createInterface } from 'node:readline';
import { HOST_ENTRIES, HOST_FIELDS } from '../../hal/index.ts';
import { HostTable } from '../../hal/linux/conntrackHostTable.ts';
import { LinuxConntrackHosts, type LinuxConntrackHostsOptions } from '../../hal/linux/conntrackHosts.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import type { ConntrackHostsReport } from './conntrackHostsProbeClient.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as LinuxConntrackHostsOptions;
const warnings: string[] = [];
const source = new LinuxConntrackHosts(openRawNetlink, { ...options, log: { warn: (m) => warnings.push(m) } });
const table = new HostTable(1024);

function report(seq: number, error: Error | null = null): ConntrackHostsReport {
  const rows: Record<string, number[]> = {};
  for (let r = table.nextRow(-1); r >= 0; r = table.nextRow(r)) {
    rows[table.addressOf(r)] = Array.from(table.counts.subarray(r * HOST_FIELDS, (r + 1) * HOST_FIELDS));
  }
  const top = new Int32Array(5);
  const n = table.topRows(HOST_ENTRIES, top);
  return {
    seq,
    error: error?.message ?? null,
    rows,
    totals: Array.from(table.totals),
    size: table.size,
    overflow: table.overflow,
    dumps: table.dumps,
    top: Array.from(top.subarray(0, n), (r) => table.addressOf(r)),
    counts: { ...source.counts },
    dirty: source.dirtyNow,
    dumping: source.dumping,
    indexSize: source.index.size,
    lastDump: { ...source.lastDump },
    status: source.status,
    warnings,
  };
}

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

source.dump(table, (error) => {
  if (error) {
    process.stderr.write(`first dump failed: ${error.message}\n`);
    process.exit(1);
  }
  print({ ready: true, ...report(0) });
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg, arg2] = line.trim().split(/\s+/);
  const n = Number(arg);
  if (command === 'report') print(report(n));
  else if (command === 'dump') source.dump(table, (error) => print(report(n, error)));
  else if (command === 'stall') {
    const until = performance.now() + n;
    while (performance.now() < until) {
      // Busy on purpose: the event socket's queue overflows meanwhile.
    }
    print({ stalled: Number(arg2) });
  }
});
lines.on('close', () => {
  source.close();
  process.exit(0);
});
