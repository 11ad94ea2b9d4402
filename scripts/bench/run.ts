/**
 * `npm run bench [-- SECTION...]`: every section by default, in this order, or only the ones
 * named (`npm run bench -- mqtt`):
 * - tick: the sampling-tick benchmark (tickSection.ts; needs root): the real-kernel tick, the
 *   same tick on replayed replies (our code alone), and the agent's tick on a LAN bridge with
 *   8 nftables-counted ports, the detectors and the loop probe, side by side in one run.
 * - loop: loop closed → loop alarm on MQTT, ≥ 20 trials in a silent LAN and with home
 *   chatter (loopBench.ts; needs root, nft, tc and mosquitto).
 * - mqtt: MQTT bytes per minute at defaults with 8 ports (mqttBytes.ts; needs mosquitto).
 * - conntrack: a 250,000-entry conntrack table (filled with CT_NEW in a throw-away namespace)
 *   dumped and aggregated per LAN host by lanwatch, beside `conntrack -L > /dev/null` and a C
 *   program that only receives the dump, interleaved (ctSection.ts; needs root and gcc).
 *
 * Environment: BENCH_TICKS (10,000), BENCH_RUNS (3) for tick; BENCH_LOOP_TRIALS (20) and
 * BENCH_LOOP_GAP_MS (1000: alarm OFF this long before the next close) for loop;
 * BENCH_CT_ENTRIES (250,000), BENCH_CT_RUNS (7), BENCH_CT_DUMPS (3 per process) for conntrack.
 * Everything a section builds (namespaces, nft tables, processes, temp dirs) is removed on
 * exit, on failure and on Ctrl-C; a raised nf_conntrack_max is restored.
 */
import { conntrackSection, teardownConntrack } from './ctSection.ts';
import { loopBench } from './loopBench.ts';
import { mqttBytesBench } from './mqttBytes.ts';
import { teardownTick, tickSection } from './tickSection.ts';

const SECTIONS = ['tick', 'loop', 'mqtt', 'conntrack'] as const;
type Section = (typeof SECTIONS)[number];

process.on('exit', teardownTick);
process.on('exit', teardownConntrack);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  // process.exit runs the 'exit' hooks: this file's, and the lab's (test/lab/cleanup.ts).
  process.on(signal, () => {
    teardownTick();
    teardownConntrack();
    process.exit(130);
  });
}

function selectedSections(args: string[]): Section[] {
  const unknown = args.filter((a) => !(SECTIONS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    console.error(`bench: unknown section ${unknown.join(', ')}; usage: npm run bench [-- ${SECTIONS.join('|')} ...] (default: all)`);
    process.exit(2);
  }
  return args.length === 0 ? [...SECTIONS] : SECTIONS.filter((s) => args.includes(s));
}

async function main(): Promise<number> {
  let code = 0;
  const sections = selectedSections(process.argv.slice(2));
  for (const [i, section] of sections.entries()) {
    if (i > 0) console.log('');
    if (section === 'tick') code = Math.max(code, tickSection());
    else if (section === 'loop') code = Math.max(code, await loopBench());
    else if (section === 'conntrack') code = Math.max(code, conntrackSection());
    else await mqttBytesBench();
  }
  return code;
}

process.exitCode = await main();
