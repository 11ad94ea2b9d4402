/**
 * The real transport: the `netlink` package's raw socket layer.
 *
 * Message peeking is off and the read size is 32 KiB. With peeking the kernel sees
 * 1-byte reads and sizes dump batches at about a page (~3.6 KiB per datagram); a 32 KiB
 * read lets it fill SKB_WITH_OVERHEAD(32768) per batch, the most netlink_dump() will
 * build, so a dump needs ~9x fewer datagrams (measured: 5,904 vs 669 per 100 k conntrack
 * entries, notes/ctnetlink.md §4). Larger reads buy nothing.
 *
 * The binding still allocates one buffer per datagram (it has no receive-into API); we
 * never keep it past the handler, so it dies young.
 */
import { createRequire } from 'node:module';
import type { RawNetlinkSocket as RawSocket, RawNetlinkSocketOptions } from 'netlink';
import type { NetlinkTransport, NetlinkTransportFactory } from './transport.ts';

export const RECEIVE_CHUNK_BYTES = 32 * 1024;

type RawSocketCtor = new (protocol: number, options?: RawNetlinkSocketOptions) => RawSocket;

let rawSocketCtor: RawSocketCtor | null = null;

/**
 * Loads the native binding, or returns why it can't be loaded (a musl system without a
 * prebuild, a missing compiler at install time). Callers fall back to procfs/sysfs.
 */
export function loadNetlinkBinding(): { ok: true } | { ok: false; reason: string } {
  if (rawSocketCtor) return { ok: true };
  try {
    // createRequire: the package is CommonJS and loads its .node file with node-gyp-build.
    const mod = createRequire(import.meta.url)('netlink') as { RawNetlinkSocket: RawSocketCtor };
    rawSocketCtor = mod.RawNetlinkSocket;
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, reason: `netlink addon not loadable: ${message}` };
  }
}

export const openRawNetlink: NetlinkTransportFactory = (protocol, handlers, options = {}) => {
  const loaded = loadNetlinkBinding();
  if (!loaded.ok) throw new Error(loaded.reason);
  const socket = new rawSocketCtor!(protocol, {
    messagePeeking: false,
    msgBufferSize: RECEIVE_CHUNK_BYTES,
    recvBufferSize: options.recvBufferSize ?? 0,
    sendBufferSize: 0,
  });
  // Bound once: the binding calls these for every datagram, so no per-call closures.
  const onMessage = (datagram: Buffer): void => handlers.onDatagram(datagram);
  // A datagram larger than our read size arrives cut; treat it as an error the source
  // recovers from (it re-requests), never as data.
  const onTruncated = (_datagram: Buffer, info: { truncated?: number }): void => {
    const error: NodeJS.ErrnoException = new Error(
      `netlink datagram truncated (${info.truncated ?? '?'} bytes > ${RECEIVE_CHUNK_BYTES})`,
    );
    error.code = 'ETRUNC';
    handlers.onError(error);
  };
  const onError = (error: NodeJS.ErrnoException): void => handlers.onError(error);
  socket.on('message', onMessage);
  socket.on('truncatedMessage', onTruncated);
  socket.on('error', onError);
  for (const group of options.groups ?? []) socket.addMembership(group);

  let open = true;
  const transport: NetlinkTransport = {
    send(request) {
      if (open) socket.send(request);
    },
    close() {
      if (!open) return;
      open = false;
      socket.close();
      socket.off('message', onMessage);
      socket.off('truncatedMessage', onTruncated);
      socket.off('error', onError);
    },
  };
  return transport;
};
