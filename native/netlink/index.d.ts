/** A socket handle; only meaningful to the functions below. */
export type NetlinkSocketHandle = { readonly __netlinkSocket: unique symbol };

/**
 * Opens an AF_NETLINK socket, bound (the kernel picks the port id) and joined to `groups`.
 * - `slotBytes` equal to `receiveBuffer.length`: a poll socket, read on the Node event loop
 *   into the whole buffer.
 * - `slotBytes` smaller: a ring socket of `receiveBuffer.length / slotBytes` slots, read by a
 *   thread of its own that receives ahead into free slots (for dumps: the kernel builds the
 *   next batches while JS parses).
 * - `onDatagram(offset, length, truncatedTo)`: the datagram is `length` bytes at `offset` of
 *   `receiveBuffer`, valid only during the call. `truncatedTo` is its real length when it did
 *   not fit its room, else 0.
 * - `rcvbufBytes` > 0 sets SO_RCVBUFFORCE (CAP_NET_ADMIN), else SO_RCVBUF; the kernel
 *   doubles the value.
 * - `onError(errno)`: ENOBUFS after a receive-queue overrun (polling continues), or
 *   another receive error.
 * Throws an Error with `code` (EPERM, EPROTONOSUPPORT, …) when the socket can't be set up.
 */
export function open(
  protocol: number,
  receiveBuffer: Buffer,
  rcvbufBytes: number,
  groups: readonly number[],
  onDatagram: (offset: number, length: number, truncatedTo: number) => void,
  onError: (errno: number) => void,
  slotBytes: number,
): NetlinkSocketHandle;

/** Sends one request to the kernel; returns 0 or the errno. */
export function send(socket: NetlinkSocketHandle, request: Uint8Array): number;

/** Closes the socket; idempotent. */
export function close(socket: NetlinkSocketHandle): void;

/** SO_RCVBUF as applied by the kernel (doubled), or -1 once closed. */
export function receiveBufferBytes(socket: NetlinkSocketHandle): number;
