/**
 * Runs inside `unshare -n` (a private, nameless network namespace that dies with this
 * process) and exercises the netlink addon through openRawNetlink; prints one JSON line.
 *
 * The overrun: a socket joined to RTNLGRP_LINK with a tiny receive buffer, and the event
 * loop blocked by spawnSync while `ip -batch` adds 60 bridges. The queue overflows
 * while nobody reads, so epoll reports EPOLLERR: the case that aborted the process with
 * the `netlink` npm addon.
 */
import { spawnSync } from 'node:child_process';
import { openRawNetlink, RECEIVE_CHUNK_BYTES } from '../../hal/netlink/rawSocket.ts';
import type { NetlinkTransport } from '../../hal/netlink/transport.ts';

const NETLINK_ROUTE = 0;
const RTNLGRP_LINK = 1;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_DONE = 3;

const mode = process.argv[2];

function getLinkDump(seq: number): Buffer {
  const request = Buffer.alloc(32);
  request.writeUInt32LE(32, 0);
  request.writeUInt16LE(RTM_GETLINK, 4);
  request.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  request.writeUInt32LE(seq, 8);
  return request; // ifinfomsg (16 bytes) all zero: every link, any family
}

function types(datagram: Buffer): number[] {
  const found: number[] = [];
  for (let at = 0; at + 16 <= datagram.length; ) {
    const length = datagram.readUInt32LE(at);
    found.push(datagram.readUInt16LE(at + 4));
    if (length < 16) break;
    at += (length + 3) & ~3;
  }
  return found;
}

/** ifi_index of every RTM_NEWLINK in the datagram (ifinfomsg after the 16-byte header). */
function linkIndexes(datagram: Buffer, out: number[]): void {
  for (let at = 0; at + 16 <= datagram.length; ) {
    const length = datagram.readUInt32LE(at);
    if (datagram.readUInt16LE(at + 4) === RTM_NEWLINK) out.push(datagram.readInt32LE(at + 20));
    if (length < 16) break;
    at += (length + 3) & ~3;
  }
}

function ipBatch(commands: string[]): void {
  const result = spawnSync('ip', ['-batch', '-'], { input: commands.join('\n') + '\n', encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip -batch: ${result.stderr}`);
}

const report = (value: object): void => {
  process.stdout.write(JSON.stringify(value) + '\n');
};

async function overrun(): Promise<void> {
  const errors: string[] = [];
  const newLinks: number[] = [];
  let sawAfterOverrun = false;
  const events = openRawNetlink(
    NETLINK_ROUTE,
    {
      onDatagram(datagram) {
        for (const type of types(datagram)) if (type === RTM_NEWLINK) newLinks.push(type);
        if (errors.length > 0) sawAfterOverrun = true;
      },
      onError(error) {
        errors.push(String(error.code));
      },
    },
    { recvBufferSize: 1024, groups: [RTNLGRP_LINK] },
  );
  // Blocks the event loop: nothing reads while the kernel queues 60+ RTM_NEWLINK events.
  ipBatch(Array.from({ length: 60 }, (_, i) => `link add lwbr${i} type bridge`));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const errorsAfterOverrun = errors.length;
  // Polling must go on after the error: one more link must still be announced.
  const before = newLinks.length;
  ipBatch(['link add lwlast type bridge']);
  await new Promise((resolve) => setTimeout(resolve, 200));
  events.close();
  report({ errors, errorsAfterOverrun, eventsBefore: before, eventsAfter: newLinks.length - before, sawAfterOverrun });
}

/** argv[3]: receiveAhead (0: a poll socket; n: a ring socket of n slots and its thread). */
async function dump(): Promise<void> {
  const receiveAhead = Number(process.argv[3] ?? 0);
  const offsets = new Set<number>();
  const indexes: number[] = [];
  ipBatch(Array.from({ length: 120 }, (_, i) => `link add lwbr${i} type bridge`));
  const underlying = new Set<ArrayBufferLike>();
  let datagrams = 0;
  let messages = 0;
  let maxLength = 0;
  let closedInside = false;
  let callsAfterClose = 0;
  let transport: NetlinkTransport | null = null;
  await new Promise<void>((resolve, reject) => {
    transport = openRawNetlink(NETLINK_ROUTE, {
      onDatagram(datagram) {
        if (closedInside) callsAfterClose++;
        datagrams++;
        underlying.add(datagram.buffer);
        offsets.add(datagram.byteOffset);
        linkIndexes(datagram, indexes);
        maxLength = Math.max(maxLength, datagram.length);
        for (const type of types(datagram)) {
          if (type === RTM_NEWLINK) messages++;
          if (type === NLMSG_DONE) resolve();
        }
      },
      onError: reject,
    }, { receiveAhead });
    transport.send(getLinkDump(1));
  });
  // Close inside a handler: a second dump is requested, and the handler closes the socket on
  // the first datagram; no datagram may follow.
  await new Promise<void>((resolve) => {
    const second = openRawNetlink(NETLINK_ROUTE, {
      onDatagram() {
        if (closedInside) callsAfterClose++;
        closedInside = true;
        second.close();
        second.close(); // idempotent
        second.send(getLinkDump(3)); // after close: ignored, no error, no throw
      },
      onError() {},
    }, { receiveAhead });
    second.send(getLinkDump(2));
    setTimeout(resolve, 300);
  });
  (transport as NetlinkTransport | null)?.close();
  report({ datagrams, messages, buffers: underlying.size, offsets: offsets.size, maxLength, chunk: RECEIVE_CHUNK_BYTES, callsAfterClose, inOrder: indexes.every((index, i) => i === 0 || index > indexes[i - 1]!) });
}

async function badProtocol(): Promise<void> {
  try {
    openRawNetlink(31, { onDatagram() {}, onError() {} }); // MAX_LINKS - 1: never a protocol
    report({ threw: false });
  } catch (error) {
    report({ threw: true, code: (error as NodeJS.ErrnoException).code, message: (error as Error).message });
  }
}

async function throwingHandler(): Promise<void> {
  let caught = '';
  process.on('uncaughtException', (error) => {
    caught = error.message;
  });
  const socket = openRawNetlink(NETLINK_ROUTE, {
    onDatagram() {
      throw new Error('handler bug');
    },
    onError() {},
  });
  socket.send(getLinkDump(1));
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.close();
  report({ caught, alive: true });
}

const modes: Record<string, () => Promise<void>> = { overrun, dump, badProtocol, throwingHandler };
const run = mode ? modes[mode] : undefined;
if (!run) throw new Error(`usage: netlinkSocketChild.ts ${Object.keys(modes).join('|')}`);
await run();
