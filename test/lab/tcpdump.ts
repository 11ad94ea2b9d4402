// tcpdump as an independent oracle for frame counts: capture what a port receives into
// memory (pcap on stdout), then count the frames matching any BPF filter by running
// `tcpdump -r -` over the capture. The capture runs in a lab namespace and dies with it.
import { spawn } from 'node:child_process';
import { labEnv } from './exec.ts';

export interface Capture {
  /** Stops tcpdump (SIGINT, so it flushes) and returns the pcap and its drop count. */
  stop(): Promise<{ pcap: Buffer; dropped: number }>;
}

/**
 * Starts capturing frames received on `ifname` in `ns` (direction in only: what the port
 * hands to the bridge). Resolves once tcpdump is listening.
 */
export function startCapture(ns: string, ifname: string, timeoutMs = 5_000): Promise<Capture> {
  // --immediate-mode: hand each packet over at once; without it, frames still sitting in a
  // TPACKET_V3 block when SIGINT arrives are lost, and not counted as dropped (seen: 26 of
  // 176). -U: write each packet at once; -s 256 holds any header the filters look at; -Z root:
  // no privilege drop (the output is a pipe anyway); -B: 4 MiB ring against drops.
  const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', ifname, '-Q', 'in', '-nn', '-U', '--immediate-mode', '-s', '256', '-B', '4096', '-Z', 'root', '-w', '-'], {
    env: labEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.setEncoding('utf8');
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump on ${ifname} in ${ns}: not listening after ${timeoutMs} ms; stderr: ${stderr.trim()}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump: ${error.message}`));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`tcpdump on ${ifname} in ${ns} exited early; stderr: ${stderr.trim()}`));
    });
    child.stderr.on('data', (data: string) => {
      stderr += data;
      if (!/listening on/.test(stderr)) return;
      clearTimeout(timer);
      resolve({
        async stop() {
          const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.kill('SIGINT');
          await exited;
          clearTimeout(kill);
          const dropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? NaN);
          return { pcap: Buffer.concat(chunks), dropped };
        },
      });
    });
  });
}

/** Frames in `pcap` matching the BPF `filter` (tcpdump syntax). */
export function countFrames(pcap: Buffer, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('tcpdump', ['-r', '-', '-nn', '-q', filter], { env: labEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (data: string) => {
      for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) lines++;
    });
    child.stderr.setEncoding('utf8').on('data', (data: string) => { stderr += data; });
    child.on('error', (error) => reject(new Error(`tcpdump -r: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(lines);
      else reject(new Error(`tcpdump -r - '${filter}': exit ${code}; ${stderr.trim()}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(pcap);
  });
}
