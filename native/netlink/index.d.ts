/** A socket handle; only meaningful to the functions below. */
export type NetlinkSocketHandle = { readonly __netlinkSocket: unique symbol };

/**
 * Opens an AF_NETLINK socket, bound (the kernel picks the port id), joined to `groups`,
 * and polled on the Node event loop.
 * - `receiveBuffer` is written by every receive: `onDatagram(length, truncatedTo)` says how
 *   much of it is the datagram; the bytes are only valid during that call. `truncatedTo`
 *   is the datagram's real length when it did not fit, else 0.
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
  onDatagram: (length: number, truncatedTo: number) => void,
  onError: (errno: number) => void,
): NetlinkSocketHandle;

/** Sends one request to the kernel; returns 0 or the errno. */
export function send(socket: NetlinkSocketHandle, request: Uint8Array): number;

/** Closes the socket; idempotent. */
export function close(socket: NetlinkSocketHandle): void;

/** SO_RCVBUF as applied by the kernel (doubled), or -1 once closed. */
export function receiveBufferBytes(socket: NetlinkSocketHandle): number;
