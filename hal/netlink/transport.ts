/**
 * The seam between our netlink code and a socket. The real transport wraps the `netlink`
 * package's raw socket; tests inject the mock beside it (mockTransport.ts) and replay
 * captured datagrams, in the manner of zwave-js's injected bindings.
 */

export interface NetlinkTransportHandlers {
  /** One received datagram. The buffer is only valid during the call. */
  onDatagram(datagram: Buffer): void;
  /** A socket error (ENOBUFS on an overrun receive queue, a failed send, …). */
  onError(error: NodeJS.ErrnoException): void;
}

export interface NetlinkTransportOptions {
  /** SO_RCVBUF in bytes; the kernel doubles it and caps it at net.core.rmem_max. */
  recvBufferSize?: number;
  /** Multicast groups (numbers, not masks) to join, e.g. RTNLGRP_LINK. */
  groups?: readonly number[];
}

export interface NetlinkTransport {
  /**
   * Queues one request. Errors are reported through onError, never thrown.
   * There is deliberately no unref(): the binding aborts the process if Node exits while
   * a send is in flight, so sockets stay referenced and are closed explicitly.
   */
  send(request: Uint8Array): void;
  close(): void;
}

export type NetlinkTransportFactory = (
  protocol: number,
  handlers: NetlinkTransportHandlers,
  options?: NetlinkTransportOptions,
) => NetlinkTransport;
