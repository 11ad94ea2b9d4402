/**
 * Which board is this? Reads the few files that name the hardware, under a root directory so
 * tests can point it at a fixture tree (as node_exporter does with --path.procfs).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BOARD_FINGERPRINTS,
  type BoardFamily,
  type BoardFingerprint,
  type FingerprintSource,
} from './fingerprints.ts';

export type DetectionSource = 'device-tree' | 'openwrt' | 'none';

export interface BoardDetection {
  family: BoardFamily;
  /** The string the decision rests on, as read (trimmed), or null when nothing was readable. */
  model: string | null;
  source: DetectionSource;
}

/** The raw strings, each null when its file is missing, unreadable or empty. */
export interface BoardFacts {
  deviceTreeModel: string | null;
  openwrtBoardName: string | null;
  openwrtReleaseId: string | null;
}

export interface FingerprintMatch {
  fingerprint: BoardFingerprint;
  /** The string that matched. */
  value: string;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // ENOENT is the normal case off-Pi and off-OpenWrt; EACCES or EISDIR mean the same to us.
    return null;
  }
}

function nonEmpty(text: string): string | null {
  const t = text.trim();
  return t === '' ? null : t;
}

/** Device-tree string properties end with a NUL byte (and a string list separates with NULs). */
export function parseDeviceTreeModel(raw: string): string | null {
  return nonEmpty(raw.split('\0')[0]!);
}

/** /etc/openwrt_release is shell: DISTRIB_ID='OpenWrt'. */
export function parseOpenwrtReleaseId(raw: string): string | null {
  const m = /^DISTRIB_ID=(['"]?)(.*)\1\s*$/m.exec(raw);
  return m ? nonEmpty(m[2]!) : null;
}

export async function readBoardFacts(root = '/'): Promise<BoardFacts> {
  const [model, boardName, release] = await Promise.all([
    readText(join(root, 'proc/device-tree/model')),
    readText(join(root, 'tmp/sysinfo/board_name')),
    readText(join(root, 'etc/openwrt_release')),
  ]);
  return {
    deviceTreeModel: model === null ? null : parseDeviceTreeModel(model),
    openwrtBoardName: boardName === null ? null : nonEmpty(boardName),
    openwrtReleaseId: release === null ? null : parseOpenwrtReleaseId(release),
  };
}

function matches(fp: BoardFingerprint, value: string): boolean {
  return typeof fp.match === 'string' ? value.startsWith(fp.match) : fp.match.test(value);
}

/** The highest-scoring row of `source` that matches `value`; the first one on a tie. */
export function matchFingerprint(
  source: FingerprintSource,
  value: string,
  table: readonly BoardFingerprint[] = BOARD_FINGERPRINTS,
): BoardFingerprint | null {
  let best: BoardFingerprint | null = null;
  for (const fp of table) {
    if (fp.source === source && matches(fp, value) && (best === null || fp.score > best.score)) best = fp;
  }
  return best;
}

/**
 * The best row over all sources. On equal scores OpenWrt's board_name wins over the device
 * tree: on OpenWrt running on a Pi both name the same board, and board_name also says "OpenWrt".
 */
export function bestFingerprint(
  facts: BoardFacts,
  table: readonly BoardFingerprint[] = BOARD_FINGERPRINTS,
): FingerprintMatch | null {
  const candidates: [FingerprintSource, string | null][] = [
    ['openwrt-board', facts.openwrtBoardName],
    ['openwrt-release', facts.openwrtReleaseId],
    ['device-tree', facts.deviceTreeModel],
  ];
  let best: FingerprintMatch | null = null;
  for (const [source, value] of candidates) {
    if (value === null) continue;
    const fp = matchFingerprint(source, value, table);
    if (fp !== null && (best === null || fp.score > best.fingerprint.score)) best = { fingerprint: fp, value };
  }
  return best;
}

export function identifyBoard(
  facts: BoardFacts,
  table: readonly BoardFingerprint[] = BOARD_FINGERPRINTS,
): BoardDetection {
  const best = bestFingerprint(facts, table);
  if (best !== null) {
    const source = best.fingerprint.source === 'device-tree' ? 'device-tree' : 'openwrt';
    return { family: best.fingerprint.family, model: best.value, source };
  }
  // An unknown device-tree board (an Odroid, a NanoPi on Armbian): generic, but say what it is.
  if (facts.deviceTreeModel !== null) {
    return { family: 'generic', model: facts.deviceTreeModel, source: 'device-tree' };
  }
  return { family: 'generic', model: null, source: 'none' };
}

/** Never throws: a file that cannot be read is a file that is not there. */
export async function detectBoard(root = '/'): Promise<BoardDetection> {
  return identifyBoard(await readBoardFacts(root));
}
