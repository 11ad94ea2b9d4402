/**
 * Link inventory from /sys/class/net, for when netlink can't be used. sysfs sends no
 * notifications, so the list is rescanned every few seconds and diffed; a USB NIC pulled
 * and plugged back shows up within one rescan.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { LinkEvent, LinkInfo, LinkInventory, LinkListener, OperState, SourceStatus } from '../index.ts';

const OPER_STATES = new Set<OperState>(['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up']);
export const SYSFS_RESCAN_MS = 5000;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** ARPHRD_* (include/uapi/linux/if_arp.h) for links whose uevent names no DEVTYPE. */
function kindFromType(type: number, dir: string): string {
  if (existsSync(join(dir, 'bridge'))) return 'bridge';
  if (existsSync(join(dir, 'wireless')) || existsSync(join(dir, 'phy80211'))) return 'wlan';
  switch (type) {
    case 1: return 'ethernet';
    case 512: return 'ppp';
    case 772: return 'loopback';
    case 0xfffe: return 'tun';
    default: return 'other';
  }
}

export function readSysfsLinks(root = '/'): Map<number, LinkInfo> {
  const base = join(root, 'sys/class/net');
  const byName = new Map<string, LinkInfo>();
  const masters = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return new Map();
  }
  for (const name of names) {
    const dir = join(base, name);
    const index = Number(readText(join(dir, 'ifindex')));
    if (!Number.isInteger(index) || index <= 0) continue; // vanished while we looked
    const devtype = /^DEVTYPE=(.+)$/m.exec(readText(join(dir, 'uevent')) ?? '')?.[1];
    const operText = readText(join(dir, 'operstate')) as OperState | null;
    const address = readText(join(dir, 'address'));
    try {
      masters.set(name, basename(readlinkSync(join(dir, 'master'))));
    } catch {
      // not enslaved
    }
    byName.set(name, {
      index,
      name,
      kind: devtype ?? kindFromType(Number(readText(join(dir, 'type'))), dir),
      masterIndex: 0,
      mtu: Number(readText(join(dir, 'mtu'))) || 0,
      operState: operText && OPER_STATES.has(operText) ? operText : 'unknown',
      mac: address && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(address) ? address : null,
    });
  }
  const links = new Map<number, LinkInfo>();
  for (const link of byName.values()) {
    const master = masters.get(link.name);
    if (master) link.masterIndex = byName.get(master)?.index ?? 0;
    links.set(link.index, link);
  }
  return links;
}

export class SysfsInventory implements LinkInventory {
  readonly status: SourceStatus;
  private current = new Map<number, LinkInfo>();
  private readonly listeners: LinkListener[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root = '/',
    reason = '',
    private readonly rescanMs = SYSFS_RESCAN_MS,
  ) {
    this.status = {
      backend: 'sysfs',
      detail: `/sys/class/net, rescanned every ${rescanMs / 1000} s${reason ? ` — ${reason}` : ''}`,
    };
  }

  get links(): ReadonlyMap<number, LinkInfo> {
    return this.current;
  }

  async start(): Promise<void> {
    this.rescan();
    this.timer = setInterval(() => this.rescan(), this.rescanMs);
    this.timer.unref();
  }

  onChange(listener: LinkListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  rescan(): void {
    const next = readSysfsLinks(this.root);
    const previous = this.current;
    this.current = next;
    for (const [index, link] of previous) if (!next.has(index)) this.emit('removed', link);
    for (const [index, link] of next) {
      const old = previous.get(index);
      if (!old) this.emit('added', link);
      else if (JSON.stringify(old) !== JSON.stringify(link)) this.emit('changed', link);
    }
  }

  private emit(event: LinkEvent, link: LinkInfo): void {
    for (const listener of this.listeners) listener(event, link);
  }
}
