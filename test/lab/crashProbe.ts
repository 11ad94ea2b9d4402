// Child process for lab.test.ts: builds a lab, prints its namespace names, then
// dies the way MODE says, so the test can check what cleans up after it.
//   throw   - uncaught exception (exit hook must remove the lab)
//   wait    - waits to be signalled (SIGTERM/SIGINT hook, or SIGKILL + sweep)
// Bounded: exits by itself after 30 s.
import { createNatLab } from './natLab.ts';

const mode = process.argv[2] ?? 'wait';
const lab = await createNatLab({ sweep: false });
process.stdout.write(`${JSON.stringify(Object.values(lab.names))}\n`);
if (mode === 'throw') throw new Error('crashProbe: deliberate crash');
setTimeout(() => process.exit(0), 30_000);
