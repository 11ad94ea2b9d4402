// Runs test/lab/crashProbe.ts in a child process that builds a lab and then dies (throws,
// or waits for the signal we send), and returns the namespace names it printed, so a test
// can check that the exit hooks or sweepStaleLabs() removed them.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const probe = fileURLToPath(new URL('./crashProbe.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

export async function runCrashProbe(mode: 'throw' | 'wait', signal?: NodeJS.Signals, extraArgs: readonly string[] = []): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', probe, mode, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const names = await new Promise<string[]>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0] ?? '[]') as string[]);
    });
    child.on('exit', (code) => reject(new Error(`crashProbe exited (${code}) before printing names`)));
  });
  if (signal !== undefined) child.kill(signal);
  await exited;
  return names;
}
