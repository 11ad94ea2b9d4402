/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx nftPortProbe.ts`) and drives
 * the real nftables port-counter source there. Protocol, one JSON object per line:
 * prints {"ready":true,"status":…} after the start-up probe; answers each stdin request
 *   {"seq":N,"op":"apply","plan":{…}}          → {"seq":N,"ok":true} or {"seq":N,"error":"…"}
 *   {"seq":N,"op":"read","ports":["lan1",…]}   → {"seq":N,"error":null|"…","code":…,
 *                                                 "rows":{"lan1":[PORT_FIELDS values, NaN → null]},
 *                                                 "read":["lan1",…]}
 *   {"seq":N,"op":"close"}                     → {"seq":N,"ok":true} (table removed)
 * and exits without closing when stdin ends: like a crash, the table stays behind.
 */
import { createInterface } from 'node:readline';
import { PORT_FIELDS, type PortCounterPlan } from '../../hal/index.ts';
import { openNftPortCounters } from '../../hal/linux/nftPortCounters.ts';

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const { source, status } = await openNftPortCounters();
print({ ready: true, status });

type Request = { seq: number; op: 'apply'; plan: PortCounterPlan } | { seq: number; op: 'read'; ports: string[] } | { seq: number; op: 'close' };

function read(seq: number, ports: string[]): void {
  if (!source) return print({ seq, error: 'no source', code: null, rows: {}, read: [] });
  const values = new Float64Array(ports.length * PORT_FIELDS);
  const marked = new Set<number>();
  const sink = {
    values,
    slotOfPort: (name: string) => ports.indexOf(name),
    markPortRead: (slot: number) => void marked.add(slot),
  };
  source.read(sink, (error) => {
    const rows: Record<string, (number | null)[]> = {};
    ports.forEach((port, slot) => {
      rows[port] = Array.from(values.subarray(slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS), (v) => (Number.isNaN(v) ? null : v));
    });
    const code = error && 'code' in error ? String((error as { code: unknown }).code) : null;
    print({ seq, error: error?.message ?? null, code, rows, read: [...marked].map((slot) => ports[slot]) });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as Request;
  const { seq } = request;
  if (request.op === 'read') return read(seq, request.ports);
  if (!source) return print({ seq, error: status.detail });
  const work = request.op === 'apply' ? source.apply(request.plan) : source.close();
  work.then(
    () => print({ seq, ok: true }),
    (error: Error) => print({ seq, error: error.message }),
  );
});
// No close(): a process that ends without it leaves the table, as a crashed agent would.
// process.exit because the netlink socket keeps the event loop alive.
lines.on('close', () => process.exit(0));
