/**
 * The seam between our netlink code and a socket. The real transport is our addon's socket
 * (rawSocket.ts); tests inject the mock beside it (mockTransport.ts) and replay
 * captured datagrams, in the manner of zwave-js's injected bindings.
 */

export interface NetlinkTransportHandlers {
  /** One received datagram. The buffer is only valid during the call. */
  onDatagram(datagram: Buffer): void;
  /** A socket error (ENOBUFS on an overrun receive queue, a failed send, …). */
  onError(error: NodeJS.ErrnoException): void;
}

export interface NetlinkTransportOptions {
  /** Receive buffer in bytes: SO_RCVBUFFORCE with CAP_NET_ADMIN (past net.core.rmem_max), else SO_RCVBUF capped at rmem_max; the kernel doubles it. */
  recvBufferSize?: number;
  /**
   * Datagrams a receive thread may read ahead of the handlers (a ring of that many 32 KiB
   * slots). For dumps: the kernel builds each dump batch inside recvmsg(), so receiving on a
   * thread overlaps the kernel's work with our parsing. Default: receive on the event loop.
   */
  receiveAhead?: number;
  /** Multicast groups (numbers, not masks) to join, e.g. RTNLGRP_LINK. */
  groups?: readonly number[];
}

export interface NetlinkTransport {
  /**
   * Sends one request. Errors are reported through onError, never thrown. Sockets keep
   * the event loop alive until closed: every owner closes its sockets explicitly.
   */
  send(request: Uint8Array): void;
  close(): void;
}

export type NetlinkTransportFactory = (
  protocol: number,
  handlers: NetlinkTransportHandlers,
  options?: NetlinkTransportOptions,
) => NetlinkTransport;
