/**
 * The device block of discovery: what the box is, in the words a person recognises. Read
 * once at start from files every Linux (and OpenWrt) has; anything missing is left out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DeviceDescription } from './discovery.ts';

/** Board model prefixes → maker, for HA's "manufacturer" field. */
const MANUFACTURERS: readonly [prefix: string, maker: string][] = [
  ['Raspberry Pi', 'Raspberry Pi Ltd'],
  ['GL.iNet', 'GL.iNet'],
  ['Linksys', 'Linksys'],
  ['Netgear', 'NETGEAR'],
  ['NETGEAR', 'NETGEAR'],
  ['TP-Link', 'TP-Link'],
  ['Xiaomi', 'Xiaomi'],
  ['Banana Pi', 'Sinovoip'],
  ['FriendlyElec', 'FriendlyElec'],
];

export function manufacturerOf(model: string | null): string | null {
  if (model === null) return null;
  return MANUFACTURERS.find(([prefix]) => model.startsWith(prefix))?.[1] ?? null;
}

/** PRETTY_NAME of os-release (OpenWrt has one too: "OpenWrt 24.10.0"). */
export function osRelease(root: string): string | null {
  for (const file of ['etc/os-release', 'usr/lib/os-release']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(root, file), 'utf8');
    } catch {
      continue;
    }
    const match = /^PRETTY_NAME=(?:"([^"]*)"|'([^']*)'|(.*))$/m.exec(text);
    const value = match?.[1] ?? match?.[2] ?? match?.[3];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return null;
}

export function describeDevice(model: string | null, root = '/', hostname = os.hostname()): DeviceDescription {
  return { name: hostname, manufacturer: manufacturerOf(model), model, osRelease: osRelease(root) };
}
