/**
 * Where the heap bytes of a tick come from: V8's sampling heap profiler (node:inspector,
 * HeapProfiler.startSampling) over a stretch of ticks, the sampled bytes summed per allocating
 * function and divided by the ticks. V8 scales each sample by its sampling probability, so the
 * sums estimate bytes allocated, not a count of samples.
 *
 * Objects collected by a GC are kept in the profile (the include…CollectedBy… flags), so the
 * figure is what was allocated, not what survived. A profile node is a function, not a line:
 * each site is the allocating function's own position plus its callers, mapped through tsx's
 * source maps back to the .ts line (V8 reports positions in the transformed code).
 */
import { findSourceMap, type SourceMap } from 'node:module';
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
  selfSize: number;
  children: ProfileNode[];
}

export interface HeapSite {
  bytesPerTick: number;
  /** Allocating function first, then up to `depth` callers: `name (file:line)`. */
  stack: string[];
}

export interface HeapProfileSummary {
  totalPerTick: number;
  sites: HeapSite[];
  byFunction: Record<string, number>;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `name (file:line)` of a frame, the line mapped back to the TypeScript source when possible. */
function describe(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  let file = frame.url;
  let line = frame.lineNumber + 1;
  if (file.startsWith('file://')) {
    let map: SourceMap | undefined;
    try {
      map = findSourceMap(file) ?? findSourceMap(fileURLToPath(file));
    } catch {
      map = undefined;
    }
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && 'originalLine' in entry) line = entry.originalLine + 1;
    file = fileURLToPath(file);
  }
  // CommonJS modules (node_modules) are named by path, ESM ones by URL: one spelling for both.
  if (file.startsWith('/')) file = relative(root, file);
  return `${name} (${file}:${line})`;
}

export class HeapSampler {
  private readonly session = new Session();

  /** `intervalBytes`: mean bytes between samples; small, because a tick allocates little. */
  async start(intervalBytes = 32): Promise<void> {
    this.session.connect();
    await this.session.post('HeapProfiler.enable');
    await this.session.post('HeapProfiler.startSampling', {
      samplingInterval: intervalBytes,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }

  /**
   * Stops sampling; per tick over `ticks` ticks: the heaviest sites (function and callers), and
   * every allocating function alone (`name (file:line)` → bytes), for comparing two profiles.
   */
  async stop(ticks: number, depth = 5, top = 20): Promise<HeapProfileSummary> {
    const { profile } = (await this.session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
    this.session.disconnect();
    const bySite = new Map<string, HeapSite>();
    const byFunction: Record<string, number> = {};
    let total = 0;
    const walk = (node: ProfileNode, callers: CallFrame[]): void => {
      const path = [node.callFrame, ...callers];
      if (node.selfSize > 0) {
        total += node.selfSize;
        const stack = path.slice(0, depth + 1).map(describe);
        const key = stack.join(' < ');
        const site = bySite.get(key) ?? { bytesPerTick: 0, stack };
        site.bytesPerTick += node.selfSize / ticks;
        bySite.set(key, site);
        byFunction[stack[0]!] = (byFunction[stack[0]!] ?? 0) + node.selfSize / ticks;
      }
      for (const child of node.children) walk(child, path);
    };
    walk(profile.head, []);
    const sites = [...bySite.values()].sort((a, b) => b.bytesPerTick - a.bytesPerTick).slice(0, top);
    return { totalPerTick: total / ticks, sites, byFunction };
  }
}
