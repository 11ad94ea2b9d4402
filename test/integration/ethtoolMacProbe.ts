/**
 * Runs inside a lab namespace (`ip netns exec NS node --import tsx ethtoolMacProbe.ts [MODE]`)
 * and drives the real ethtool eth-mac source there: MODE 'ethtool' (default) the source alone,
 * 'layered' the LayeredPortCounters of the real nftables source and it. Protocol, one JSON
 * object per line:
 * prints {"ready":true,"status":…,"family":{"id":N,"statsGetFlags":N}|null} after start-up;
 * answers each stdin request
 *   {"seq":N,"op":"apply","plan":{…}}   → {"seq":N,"ok":true,"sources":{port:sourceOf},"unsupported":{port:reason},"status":…}
 *                                         or {"seq":N,"error":"…"}
 *   {"seq":N,"op":"read","ports":[…]}   → {"seq":N,"error":null|"…","code":…,"rows":{port:[PORT_FIELDS, NaN → null]},"read":[…]}
 *   {"seq":N,"op":"probe","ports":[…]}  → {"seq":N,"supported":[…]}
 *   {"seq":N,"op":"dump"}               → {"seq":N,"devices":[{"name","ifindex","hasGroup","multicast","broadcast"}]}
 *                                         (one raw STATS_GET eth-mac dump, parsed by EthMacReplyReader)
 *   {"seq":N,"op":"close"}              → {"seq":N,"ok":true}
 */
import { createInterface } from 'node:readline';
import { PORT_FIELDS, type PortCounterPlan, type PortCounterSource, type SourceStatus } from '../../hal/index.ts';
import { openEthtoolMacStats } from '../../hal/linux/ethtoolMacStats.ts';
import { allocEthMacDumpRequest, EthMacReplyReader } from '../../hal/linux/ethtoolStatsMessage.ts';
import { LayeredPortCounters } from '../../hal/linux/layeredPortCounters.ts';
import { openNftPortCounters } from '../../hal/linux/nftPortCounters.ts';
import { ETHTOOL_MSG_STATS_GET, NETLINK_GENERIC, NLMSG_DONE, NLMSG_ERROR } from '../../hal/netlink/constants.ts';
import { openRawNetlink } from '../../hal/netlink/rawSocket.ts';
import { MessageCursor, nlmsgErrno } from '../../hal/netlink/reader.ts';
import { setRequestSeq } from '../../hal/netlink/request.ts';

const print = (value: object): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
const nullIfNaN = (v: number): number | null => (Number.isNaN(v) ? null : v);

const mode = process.argv[2] ?? 'ethtool';
const opened = await openEthtoolMacStats();
const ethtool = opened.source;
let source: PortCounterSource | null = ethtool;
let status: SourceStatus = opened.status;
if (mode === 'layered') {
  const nft = await openNftPortCounters();
  source = nft.source || ethtool ? new LayeredPortCounters({ primary: nft.source, hardware: ethtool, log: (line) => console.error(line) }) : null;
  status = source?.status ?? nft.status;
}
const family = ethtool ? await ethtool.resolveFamily() : null;
print({ ready: true, status, family: family && { id: family.id, statsGetFlags: family.commands.get(ETHTOOL_MSG_STATS_GET) ?? null } });

type Request =
  | { seq: number; op: 'apply'; plan: PortCounterPlan }
  | { seq: number; op: 'read'; ports: string[] }
  | { seq: number; op: 'probe'; ports: string[] }
  | { seq: number; op: 'dump' }
  | { seq: number; op: 'close' };

function read(seq: number, ports: string[]): void {
  if (!source) return print({ seq, error: 'no source', code: null, rows: {}, read: [] });
  const values = new Float64Array(ports.length * PORT_FIELDS);
  const marked = new Set<number>();
  const sink = { values, slotOfPort: (name: string) => ports.indexOf(name), markPortRead: (slot: number) => void marked.add(slot) };
  source.read(sink, (error) => {
    const rows: Record<string, (number | null)[]> = {};
    ports.forEach((port, slot) => {
      rows[port] = Array.from(values.subarray(slot * PORT_FIELDS, (slot + 1) * PORT_FIELDS), nullIfNaN);
    });
    const code = error && 'code' in error ? String((error as { code: unknown }).code) : null;
    print({ seq, error: error?.message ?? null, code, rows, read: [...marked].map((slot) => ports[slot]) });
  });
}

/** One raw dump, outside the source: every netdev's reply as the reader sees it. */
function dump(seq: number, familyId: number): void {
  const devices: object[] = [];
  const cursor = new MessageCursor();
  const reply = new EthMacReplyReader();
  const request = allocEthMacDumpRequest(familyId);
  setRequestSeq(request, 1);
  const socket = openRawNetlink(NETLINK_GENERIC, {
    onDatagram(datagram) {
      cursor.reset(datagram);
      while (cursor.next()) {
        if (cursor.type === NLMSG_DONE || cursor.type === NLMSG_ERROR) {
          socket.close();
          const errno = nlmsgErrno(cursor);
          return print(errno > 0 ? { seq, error: `errno ${errno}` } : { seq, devices });
        }
        if (cursor.type !== familyId) continue;
        if (!reply.read(cursor)) return print({ seq, error: reply.problem ?? 'not a STATS_GET reply' });
        devices.push({
          name: datagram.toString('utf8', reply.nameOffset, reply.nameOffset + reply.nameLength),
          ifindex: reply.ifindex,
          hasGroup: reply.hasEthMacGroup,
          multicast: nullIfNaN(reply.rxMulticast),
          broadcast: nullIfNaN(reply.rxBroadcast),
        });
      }
    },
    onError: (error) => print({ seq, error: error.message }),
  });
  socket.send(request);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as Request;
  const { seq } = request;
  if (request.op === 'read') return read(seq, request.ports);
  if (!source || !ethtool || !family) return print({ seq, error: status.detail });
  if (request.op === 'dump') return dump(seq, family.id);
  if (request.op === 'probe') {
    ethtool.probe(request.ports).then((supported) => print({ seq, supported }), (error: Error) => print({ seq, error: error.message }));
    return;
  }
  if (request.op === 'close') {
    source.close().then(() => print({ seq, ok: true }), (error: Error) => print({ seq, error: error.message }));
    return;
  }
  const applied = source;
  applied.apply(request.plan).then(
    () => {
      const sources = Object.fromEntries(request.plan.ports.map((port) => [port, applied.sourceOf(port)]));
      const unsupported = Object.fromEntries(ethtool.unsupported);
      print({ seq, ok: true, sources, unsupported, status: applied.status });
    },
    (error: Error) => print({ seq, error: error.message }),
  );
});
// process.exit because the netlink sockets keep the event loop alive.
lines.on('close', () => process.exit(0));
