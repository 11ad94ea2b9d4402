/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx broadcastProbeRunner.ts
 * OPTIONS`) and drives the real BroadcastProbe there. OPTIONS is JSON:
 *   {"bridges":["br0"],"minIntervalMs":100,"addressCheckMs":10000}
 * Protocol, one JSON object per line on stdout:
 *   {"ready":true,"nonce":"<16 hex>","status":[…]} once constructed;
 *   {"log":"warn"|"info"|"debug","msg":"…"} for every log line of the probe;
 * and answers each stdin request
 *   {"seq":N,"op":"send","bridge"?:"br0"} → {"seq":N,"sent":k}
 *   {"seq":N,"op":"status"}               → {"seq":N,"status":[…]}
 *   {"seq":N,"op":"refresh"}              → {"seq":N,"ok":true}
 *   {"seq":N,"op":"close"}                → {"seq":N,"ok":true}
 * Exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { BroadcastProbe, type ProbeLogger } from '../../hal/linux/broadcastProbe.ts';

interface RunnerOptions {
  bridges: string[];
  minIntervalMs?: number;
  addressCheckMs?: number;
}

type Request =
  | { seq: number; op: 'send'; bridge?: string }
  | { seq: number; op: 'status' | 'refresh' | 'close' };

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const options = JSON.parse(process.argv[2] ?? '{"bridges":["br0"]}') as RunnerOptions;
const log: ProbeLogger = {
  warn: (msg) => print({ log: 'warn', msg }),
  info: (msg) => print({ log: 'info', msg }),
  debug: (msg) => print({ log: 'debug', msg }),
};
const probe = new BroadcastProbe(options.bridges.map((name) => ({ name })), {
  log,
  minIntervalMs: options.minIntervalMs,
  addressCheckMs: options.addressCheckMs,
});
print({ ready: true, nonce: probe.nonceHex, status: probe.status() });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as Request;
  const { seq } = request;
  switch (request.op) {
    case 'send':
      void probe.send(request.bridge).then((sent) => print({ seq, sent }));
      return;
    case 'status':
      return print({ seq, status: probe.status() });
    case 'refresh':
      probe.refresh();
      return print({ seq, ok: true });
    case 'close':
      void probe.close().then(() => print({ seq, ok: true }));
      return;
  }
});
lines.on('close', () => void probe.close().then(() => process.exit(0)));
