/**
 * The probe's UDP socket, on dgram-as-promised: bound to the bridge's address, connected to the
 * probe destination, send and close as promises. BroadcastProbe sees only the small ProbeSocket
 * interface, so unit tests inject a fake factory and run without root or a network.
 *
 * Opening, in this order (the results checked on Linux 6.18 in test/integration/broadcastProbe.test.ts;
 * the EACCES by hand):
 * 1. bind(bridge address, port 0): the IP source is the bridge's, and a socket bound to a unicast
 *    address is never handed the LAN's broadcasts.
 * 2. IPv4: SO_BROADCAST. Without it the kernel refuses a broadcast destination with EACCES, at
 *    connect() as at send(). IPv6: multicast loop off, so no copy of each probe is delivered to
 *    this host's own sockets.
 * 3. connect(destination, 9): the kernel then accepts datagrams for this socket only from the
 *    destination's port 9, which no host sends from (a broadcast source is a martian), so the
 *    socket shows up as ESTAB rather than a listening UNCONN in `ss -u`, and no host can make
 *    the agent read anything through it. The route is looked up once, here.
 *
 * What dgram-as-promised makes awkward, and why it is still used for the socket:
 * - It does not wrap connect(): we call the underlying dgram socket's connect() and await its
 *   'connect' or 'error' event ourselves.
 * - Its send() typings describe only unconnected sends (port and address required). A
 *   connected socket must be given no address; the library passes (msg, offset, length) through
 *   to dgram unchanged, which is dgram's connected form, so we call it through a narrower
 *   signature (ConnectedSend) instead of through its overloads.
 * - A second close() rejects (ERR_SOCKET_DGRAM_NOT_RUNNING) and leaves a 'close' listener
 *   behind: ProbeSocket.close() is made idempotent here.
 * - An 'error' event the socket emits between sends (an ICMP error reported on a connected
 *   socket) is kept and makes the NEXT send() reject with it without sending. The caller counts
 *   that send as failed with that error, which is what it is worth knowing.
 * - Each send() allocates a Promise and two closures (~0.2 KB), on top of dgram's own send
 *   request (~1.0 KB). At one probe per second per bridge that is noise (see broadcastProbe.ts);
 *   the payload Buffer itself is reused.
 * What it gives: promise-shaped bind/send/close that reject instead of emitting 'error'
 * events, and an 'error' listener on every socket, so no socket error can crash the agent.
 */
import { DgramAsPromised, type SocketAsPromised } from 'dgram-as-promised';
import type { ProbeTarget } from './probeAddress.ts';

export interface ProbeSocket {
  /** Hands one datagram to the kernel; resolves with the bytes sent, rejects with the errno error. */
  send(payload: Buffer): Promise<number>;
  /** Idempotent; never rejects. */
  close(): Promise<void>;
}

/** Opens a socket for `target` (bound, connected), or rejects with the errno error. */
export type ProbeSocketFactory = (target: ProbeTarget) => Promise<ProbeSocket>;

/** dgram-as-promised's send() as it behaves on a connected socket (see the header). */
type ConnectedSend = (this: SocketAsPromised, msg: Buffer, offset: number, length: number) => Promise<number>;

function connect(socket: SocketAsPromised, port: number, address: string): Promise<void> {
  const dgram = socket.socket;
  return new Promise((resolve, reject) => {
    const onConnect = (): void => {
      dgram.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      dgram.off('connect', onConnect);
      reject(error);
    };
    dgram.once('connect', onConnect);
    dgram.once('error', onError);
    try {
      dgram.connect(port, address);
    } catch (error) {
      dgram.off('connect', onConnect);
      dgram.off('error', onError);
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

class DgramProbeSocket implements ProbeSocket {
  private closing: Promise<void> | null = null;
  private readonly sendConnected: ConnectedSend;

  constructor(private readonly socket: SocketAsPromised) {
    this.sendConnected = socket.send as unknown as ConnectedSend;
  }

  send(payload: Buffer): Promise<number> {
    if (this.closing) return Promise.reject(new Error('probe socket closed'));
    return this.sendConnected.call(this.socket, payload, 0, payload.length);
  }

  close(): Promise<void> {
    this.closing ??= this.socket.close().then(
      () => void this.socket.destroy(),
      () => void this.socket.destroy(), // never bound, or closed under us: nothing left to free
    );
    return this.closing;
  }
}

/** The real factory: dgram-as-promised over node:dgram. */
export const openDgramProbeSocket: ProbeSocketFactory = async (target) => {
  const socket = DgramAsPromised.createSocket({ type: target.family === 4 ? 'udp4' : 'udp6' });
  const probeSocket = new DgramProbeSocket(socket);
  try {
    await socket.bind({ address: target.bindAddress, port: 0 });
    if (target.family === 4) socket.setBroadcast(true);
    else socket.setMulticastLoopback(false);
    await connect(socket, target.port, target.destination);
    // A probe socket alone must not keep the process alive (CLI runs, tests).
    socket.unref();
    return probeSocket;
  } catch (error) {
    await probeSocket.close();
    throw error;
  }
};
