/**
 * Conntrack counters from procfs, for when ctnetlink can't be used (no CAP_NET_ADMIN, or
 * the netlink addon did not load):
 * - /proc/sys/net/netfilter/nf_conntrack_{count,max}: decimal, readable by anyone;
 * - /proc/net/stat/nf_conntrack: one header line, then one row of hex fields per CPU.
 *   Its columns changed over the years ("searched" became "clashres", "delete_list"
 *   became "chainlength"), so fields are found by header name. The file disappears when
 *   the kernel is built without NF_CONNTRACK_PROCFS (default off since 5.15.65,
 *   node_exporter #2491); then only count and max are known and the rest stay NaN.
 */
import { join } from 'node:path';
import type { ConntrackSample, ConntrackStatsSource, ReadDone, SourceStatus } from '../index.ts';
import { fillConntrackCounters } from '../index.ts';
import { ProcFile } from './procFile.ts';
import { nextLine, parseUnsigned, skipBlanks, tokenEnd } from './text.ts';

// Sums are kept per field in a typed array and copied out with named stores, so a read
// allocates nothing (see fillConntrackCounters).
const FOUND = 0;
const INVALID = 1;
const INSERT_FAILED = 2;
const DROP = 3;
const EARLY_DROP = 4;
const ERROR = 5;
const SEARCH_RESTART = 6;

/** Header names in /proc/net/stat/nf_conntrack for our fields. */
const HEADER_TO_FIELD: Record<string, number> = {
  found: FOUND,
  invalid: INVALID,
  insert_failed: INSERT_FAILED,
  drop: DROP,
  early_drop: EARLY_DROP,
  icmp_error: ERROR,
  search_restart: SEARCH_RESTART,
};

export class ProcfsConntrackStats implements ConntrackStatsSource {
  readonly status: SourceStatus;
  private readonly countFile: ProcFile;
  private readonly maxFile: ProcFile;
  private readonly statFile: ProcFile;
  /** Column index → field (-1 = not ours), built from the header on first read. */
  private columns: number[] | null = null;
  private readonly sums = new Float64Array(7);

  constructor(root = '/', reason = '') {
    this.countFile = new ProcFile(join(root, 'proc/sys/net/netfilter/nf_conntrack_count'), 64);
    this.maxFile = new ProcFile(join(root, 'proc/sys/net/netfilter/nf_conntrack_max'), 64);
    this.statFile = new ProcFile(join(root, 'proc/net/stat/nf_conntrack'), 4096);
    const perCpu = this.statFile.read();
    this.status = {
      backend: 'procfs',
      detail:
        (perCpu ? 'nf_conntrack_count/max + /proc/net/stat/nf_conntrack' : 'nf_conntrack_count/max only (no /proc/net/stat/nf_conntrack)') +
        (reason ? ` — ${reason}` : ''),
    };
  }

  /** True when the conntrack sysctls exist, i.e. nf_conntrack is loaded in this namespace. */
  available(): boolean {
    return this.countFile.read() && this.maxFile.read();
  }

  read(out: ConntrackSample, done: ReadDone): void {
    out.count = this.countFile.read() ? parseUnsigned(this.countFile.data, 0, this.countFile.length, 10) : NaN;
    out.max = this.maxFile.read() ? parseUnsigned(this.maxFile.data, 0, this.maxFile.length, 10) : NaN;
    fillConntrackCounters(out, NaN);
    if (this.statFile.read()) this.parseStat(out);
    done(Number.isNaN(out.count) ? new Error('nf_conntrack_count unreadable (nf_conntrack unloaded?)') : null);
  }

  close(): void {
    this.countFile.close();
    this.maxFile.close();
    this.statFile.close();
  }

  private parseStat(out: ConntrackSample): void {
    const buf = this.statFile.data;
    const end = this.statFile.length;
    let pos: number;
    if (!this.columns) this.columns = parseHeader(buf, end);
    pos = nextLine(buf, 0, end);
    const sums = this.sums.fill(0);
    while (pos < end) {
      let column = 0;
      pos = skipBlanks(buf, pos, end);
      while (pos < end && buf[pos] !== 0x0a) {
        const stop = tokenEnd(buf, pos, end);
        const field = this.columns[column] ?? -1;
        if (field >= 0) sums[field] = sums[field]! + parseUnsigned(buf, pos, stop, 16);
        column++;
        pos = skipBlanks(buf, stop, end);
      }
      pos = nextLine(buf, pos, end);
    }
    out.found = sums[FOUND]!;
    out.invalid = sums[INVALID]!;
    out.insertFailed = sums[INSERT_FAILED]!;
    out.drop = sums[DROP]!;
    out.earlyDrop = sums[EARLY_DROP]!;
    out.error = sums[ERROR]!;
    out.searchRestart = sums[SEARCH_RESTART]!;
  }
}

function parseHeader(buf: Buffer, end: number): number[] {
  const header = buf.toString('latin1', 0, nextLine(buf, 0, end)).trim().split(/\s+/);
  return header.map((name) => HEADER_TO_FIELD[name] ?? -1);
}
