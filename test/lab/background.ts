// A long-running helper inside a lab namespace (a probe, tcpdump): its output as lines,
// a way to wait for a line, and a bounded stop. Unlike run(), it is not awaited to exit.
// It dies with its namespace too: removeNamespace() kills every process still inside.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { labEnv } from './exec.ts';

export interface BackgroundProcess {
  readonly stdoutLines: readonly string[];
  readonly stderrLines: readonly string[];
  /** Exit code (or signal name) once exited, else null. */
  readonly exit: Promise<number | string>;
  /** Resolves with the first line (stdout or stderr, past or future) matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  write(line: string): void;
  /** Sends a signal (SIGTERM for a clean shutdown); `ip netns exec` execs, so it reaches the command. */
  kill(signal: NodeJS.Signals): void;
  /** Closes stdin, waits up to `graceMs` for the exit, then SIGKILLs. */
  stop(graceMs?: number): Promise<void>;
}

export function startInNs(ns: string, cmd: string, args: string[]): BackgroundProcess {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
    env: labEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const waiters: { re: RegExp; resolve(line: string): void }[] = [];
  const exit = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.on('error', () => resolve('spawn-error'));
  });
  const feed = (into: string[]) => {
    let partial = '';
    return (chunk: string): void => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        into.push(line);
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.re.test(line)) waiters.splice(i, 1)[0]!.resolve(line);
        }
      }
    };
  };
  child.stdout.setEncoding('utf8').on('data', feed(stdoutLines));
  child.stderr.setEncoding('utf8').on('data', feed(stderrLines));
  child.stdin.on('error', () => {});

  return {
    stdoutLines,
    stderrLines,
    exit,
    waitForLine(re, timeoutMs = 5_000) {
      const seen = [...stdoutLines, ...stderrLines].find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${cmd}: no line matching ${re} within ${timeoutMs} ms; stderr: ${stderrLines.join(' | ') || '(empty)'}`));
        }, timeoutMs);
        waiters.push(waiter);
        void exit.then((code) => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(new Error(`${cmd} exited (${code}) before a line matching ${re}; stderr: ${stderrLines.join(' | ') || '(empty)'}`));
        });
      });
    },
    write(line) {
      if (child.stdin.writable) child.stdin.write(`${line}\n`);
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop(graceMs = 2_000) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
