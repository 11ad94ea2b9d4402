// Child process for lab.test.ts and loopLab.test.ts: builds a lab, prints its namespace
// names, then dies the way MODE says, so the test can check what cleans up after it.
//   throw   - uncaught exception (exit hook must remove the lab)
//   wait    - waits to be signalled (SIGTERM/SIGINT hook, or SIGKILL + sweep)
// KIND: nat (default) or loop; a loop lab dies with its loop closed.
// Bounded: exits by itself after 30 s.
import { createLoopLab } from './loopLab.ts';
import { createNatLab } from './natLab.ts';

const mode = process.argv[2] ?? 'wait';
const kind = process.argv[3] ?? 'nat';
let names: string[];
if (kind === 'loop') {
  const lab = await createLoopLab({ sweep: false, hosts: 1 });
  await lab.closeLoop();
  names = [...Object.values(lab.names), ...lab.hosts.map((h) => h.ns)];
} else {
  const lab = await createNatLab({ sweep: false });
  names = Object.values(lab.names);
}
process.stdout.write(`${JSON.stringify(names)}\n`);
if (mode === 'throw') throw new Error('crashProbe: deliberate crash');
setTimeout(() => process.exit(0), 30_000);
