/**
 * Which ports have hardware eth-mac receive counters: one ETHTOOL_MSG_STATS_GET per port (by
 * name), all sent at once on a socket of their own that is closed when the last answer is in.
 * Runs at apply time only, so it may allocate freely.
 *
 * How "not supported" shows (seen on 6.18; net/ethtool/stats.c): a driver without
 * get_eth_mac_stats is NOT answered with EOPNOTSUPP; the reply carries an empty eth-mac group
 * (veth, virtio_net, bridge and lo all do this). An interface the namespace does not have is
 * answered with NLMSG_ERROR ENODEV. Either way the port is unsupported, with a reason.
 */
import { ENODEV, NETLINK_GENERIC, NLMSG_ERROR } from '../netlink/constants.ts';
import { MessageCursor, nlmsgErrno } from '../netlink/reader.ts';
import { SequenceCounter, setRequestSeq } from '../netlink/request.ts';
import type { NetlinkTransport, NetlinkTransportFactory } from '../netlink/transport.ts';
import { errnoName } from './errors.ts';
import { allocEthMacPortRequest, EthMacReplyReader } from './ethtoolStatsMessage.ts';

export interface EthMacPortProbe {
  port: string;
  /** Both MulticastFramesReceivedOK and BroadcastFramesReceivedOK came back. */
  supported: boolean;
  /** Why not, for people (status, logs); null when supported. */
  reason: string | null;
}

/** The reason a reply that parsed cleanly does not make the port countable, or null. */
export function unsupportedReason(reply: EthMacReplyReader): string | null {
  if (!reply.hasEthMacGroup) return 'the reply has no eth-mac group (kernel without ethtool standard stats?)';
  const multicast = !Number.isNaN(reply.rxMulticast);
  const broadcast = !Number.isNaN(reply.rxBroadcast);
  if (multicast && broadcast) return null;
  if (multicast) return 'the driver reports MulticastFramesReceivedOK but not BroadcastFramesReceivedOK';
  if (broadcast) return 'the driver reports BroadcastFramesReceivedOK but not MulticastFramesReceivedOK';
  return 'the driver has no IEEE 802.3 MAC counters (empty eth-mac group: no get_eth_mac_stats)';
}

/** Asks the kernel about each port; resolves with one result per port, in order. */
export function probeEthMacPorts(
  openTransport: NetlinkTransportFactory,
  familyId: number,
  ports: readonly string[],
  timeoutMs = 2000,
): Promise<EthMacPortProbe[]> {
  const results: EthMacPortProbe[] = ports.map((port) => ({ port, supported: false, reason: `no answer within ${timeoutMs} ms` }));
  if (ports.length === 0) return Promise.resolve(results);
  return new Promise<EthMacPortProbe[]>((resolve, reject) => {
    const seqs = new SequenceCounter();
    const portOfSeq = new Map<number, number>();
    const messages = new MessageCursor();
    const reply = new EthMacReplyReader();
    let transport: NetlinkTransport | null = null;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      transport?.close();
      resolve(results);
    };
    const answer = (index: number, reason: string | null): void => {
      results[index] = { port: ports[index]!, supported: reason === null, reason };
      if (portOfSeq.size === 0) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    const onDatagram = (datagram: Buffer): void => {
      const msg = messages.reset(datagram);
      while (msg.next()) {
        const index = portOfSeq.get(msg.seq);
        if (index === undefined) continue;
        if (msg.type === NLMSG_ERROR) {
          portOfSeq.delete(msg.seq);
          const errno = nlmsgErrno(msg);
          answer(index, errno === ENODEV ? 'no such interface in this network namespace (kernel answered ENODEV)' : `kernel answered ${errnoName(errno)}`);
        } else if (msg.type === familyId) {
          portOfSeq.delete(msg.seq);
          if (reply.read(msg)) answer(index, unsupportedReason(reply));
          else answer(index, `malformed STATS_GET reply: ${reply.problem ?? 'not a STATS_GET reply'}`);
        }
      }
    };
    const onError = (error: Error): void => {
      for (const index of portOfSeq.values()) results[index] = { port: ports[index]!, supported: false, reason: `netlink socket error: ${error.message}` };
      portOfSeq.clear();
      finish();
    };
    try {
      transport = openTransport(NETLINK_GENERIC, { onDatagram, onError });
    } catch (error) {
      clearTimeout(timer);
      reject(error);
      return;
    }
    // All sequence numbers are registered before the first send, so an early answer can't
    // look like the last one.
    const requests = ports.map((port, index) => {
      const request = allocEthMacPortRequest(familyId, port);
      const seq = seqs.next();
      setRequestSeq(request, seq);
      portOfSeq.set(seq, index);
      return request;
    });
    for (const request of requests) if (!finished) transport.send(request);
  });
}
