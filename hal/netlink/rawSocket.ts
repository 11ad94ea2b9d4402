/**
 * The real transport: lanwatch's own netlink socket addon (native/netlink, Node-API C).
 *
 * Each socket receives into one Buffer of RECEIVE_CHUNK_BYTES that it reuses for every
 * datagram (or, with receiveAhead, a ring of such slots filled by a receive thread);
 * handlers get a view that is only valid during the call (the transport contract).
 * With a 32 KiB read the kernel fills SKB_WITH_OVERHEAD(32768) per dump batch, the most
 * netlink_dump() will build, so a dump needs ~9x fewer datagrams than with
 * page-sized reads (measured: 5,904 vs 669 per 100 k conntrack entries,
 * notes/ctnetlink.md §4). Larger reads buy nothing.
 *
 * A receive-queue overrun (ENOBUFS, EPOLLERR) arrives as an ordinary onError and the
 * socket keeps polling: the sources resync. The `netlink` npm package we used before
 * aborted the process there (see native/netlink/src/netlinkSocket.c).
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import type { NetlinkSocketHandle } from '@lanwatch/netlink';
import type { NetlinkTransport, NetlinkTransportFactory } from './transport.ts';

export const RECEIVE_CHUNK_BYTES = 32 * 1024;

type NetlinkAddon = typeof import('@lanwatch/netlink');

let addon: NetlinkAddon | null = null;

/**
 * Loads the native addon, or returns why it can't be loaded (it was not built: no
 * compiler at install time, a musl system). Callers fall back to procfs/sysfs.
 */
export function loadNetlinkBinding(): { ok: true } | { ok: false; reason: string } {
  if (addon) return { ok: true };
  try {
    // createRequire: a .node file loads through require, not import.
    addon = createRequire(import.meta.url)('@lanwatch/netlink') as NetlinkAddon;
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, reason: `netlink addon not loadable (npm ci builds it with python3, make and g++): ${message}` };
  }
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const error: NodeJS.ErrnoException = new Error(`netlink ${what}: ${code}`);
  error.code = code;
  error.errno = errno;
  return error;
}

/**
 * Views of the receive buffer, the last few kept. A view per datagram would be ~130 B of heap;
 * a tick's replies repeat their lengths (conntrack's socket sees GET_STATS, then a GET_STATS_CPU
 * dump and its 20-byte NLMSG_DONE, every tick), so a handful of remembered views serve the
 * steady state without allocating.
 */
class DatagramViews {
  private static readonly KEPT = 4;
  private readonly views: Buffer[] = [];
  private next = 0;
  constructor(private readonly buffer: Buffer) {}

  of(offset: number, length: number): Buffer {
    const views = this.views;
    for (let i = 0; i < views.length; i++) {
      const view = views[i]!;
      if (view.byteOffset === offset && view.length === length) return view;
    }
    const view = this.buffer.subarray(offset, offset + length);
    if (views.length < DatagramViews.KEPT) views.push(view);
    else views[this.next] = view;
    this.next = (this.next + 1) % DatagramViews.KEPT;
    return view;
  }
}

export const openRawNetlink: NetlinkTransportFactory = (protocol, handlers, options = {}) => {
  const loaded = loadNetlinkBinding();
  if (!loaded.ok) throw new Error(loaded.reason);
  const native = addon!;
  const slots = Math.max(1, Math.floor(options.receiveAhead ?? 0));
  const receiveBuffer = Buffer.allocUnsafeSlow(RECEIVE_CHUNK_BYTES * slots);
  const views = new DatagramViews(receiveBuffer);
  // Bound once: the addon calls these for every datagram, so no per-call closures.
  const onDatagram = (offset: number, length: number, truncatedTo: number): void => {
    if (truncatedTo > 0) {
      // A datagram larger than our read size arrives cut; the source recovers (it
      // re-requests), it never parses half a datagram.
      const error: NodeJS.ErrnoException = new Error(`netlink datagram truncated (${truncatedTo} bytes > ${RECEIVE_CHUNK_BYTES})`);
      error.code = 'ETRUNC';
      handlers.onError(error);
      return;
    }
    handlers.onDatagram(views.of(offset, length));
  };
  const onError = (errno: number): void => handlers.onError(errnoError(errno, 'receive'));
  const socket: NetlinkSocketHandle = native.open(
    protocol,
    receiveBuffer,
    options.recvBufferSize ?? 0,
    options.groups ?? [],
    onDatagram,
    onError,
    RECEIVE_CHUNK_BYTES,
  );

  let open = true;
  return {
    send(request) {
      if (!open) return;
      const errno = native.send(socket, request);
      // The contract: errors through onError, never thrown, and never re-entrantly from
      // inside send() where the caller is still setting up its request state.
      if (errno !== 0) queueMicrotask(() => open && handlers.onError(errnoError(errno, 'send')));
    },
    close() {
      if (!open) return;
      open = false;
      native.close(socket);
    },
  };
};
