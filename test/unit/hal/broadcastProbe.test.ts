import type { NetworkInterfaceInfo } from 'node:os';
import { beforeEach, describe, expect, it } from 'vitest';
import { BroadcastProbe, type BroadcastProbeOptions, type ProbeLogger } from '../../../hal/linux/broadcastProbe.ts';
import type { InterfaceTable, ProbeTarget } from '../../../hal/linux/probeAddress.ts';
import type { ProbeSocket, ProbeSocketFactory } from '../../../hal/linux/probeSocket.ts';

const NONCE = Buffer.from('0123456789abcdef', 'hex');
const EPOCH = 1_700_000_000_000;

function v4(address: string, netmask = '255.255.255.0'): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` };
}

function linkLocal(address: string): NetworkInterfaceInfo {
  return { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid: 3 };
}

function errnoError(code: string, syscall = 'send'): NodeJS.ErrnoException {
  // As dgram words them on a connected socket: no address after the code.
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

class FakeSocket implements ProbeSocket {
  readonly sent: string[] = [];
  readonly buffers: Buffer[] = [];
  closes = 0;
  constructor(readonly target: ProbeTarget, private readonly sockets: FakeSockets) {}
  async send(payload: Buffer): Promise<number> {
    if (this.sockets.gate) await this.sockets.gate;
    const failure = this.sockets.sendFailures.shift();
    if (failure) throw failure;
    this.sent.push(payload.toString('latin1'));
    this.buffers.push(payload);
    return payload.length;
  }
  async close(): Promise<void> {
    this.closes++;
  }
}

/** The injected socket factory: every socket it opened, scripted open/send failures, a gate. */
class FakeSockets {
  readonly opened: FakeSocket[] = [];
  openFailures: Error[] = [];
  sendFailures: Error[] = [];
  gate: Promise<void> | null = null;
  openGate: Promise<void> | null = null;
  readonly factory: ProbeSocketFactory = async (target) => {
    if (this.openGate) await this.openGate;
    const failure = this.openFailures.shift();
    if (failure) throw failure;
    const socket = new FakeSocket(target, this);
    this.opened.push(socket);
    return socket;
  };
  get allSent(): string[] {
    return this.opened.flatMap((socket) => socket.sent);
  }
}

class RecordingLogger implements ProbeLogger {
  readonly lines: { level: 'warn' | 'info' | 'debug'; message: string }[] = [];
  warn(message: string): void { this.lines.push({ level: 'warn', message }); }
  info(message: string): void { this.lines.push({ level: 'info', message }); }
  debug(message: string): void { this.lines.push({ level: 'debug', message }); }
  at(level: 'warn' | 'info' | 'debug'): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }
}

describe('BroadcastProbe', () => {
  let now: number;
  let table: InterfaceTable;
  let reads: number;
  let sockets: FakeSockets;
  let log: RecordingLogger;

  const make = (bridges: string[] = ['br0'], options: BroadcastProbeOptions = {}) =>
    new BroadcastProbe(bridges.map((name) => ({ name })), {
      log,
      nonce: NONCE,
      openSocket: sockets.factory,
      networkInterfaces: () => {
        reads++;
        return table;
      },
      now: () => now,
      wallClock: () => EPOCH + now,
      ...options,
    });

  beforeEach(() => {
    now = 0;
    reads = 0;
    table = {
      lo: [v4('127.0.0.1', '255.0.0.0')],
      wan: [v4('198.51.100.7')],
      br0: [v4('10.88.0.1')],
      'br-guest': [v4('192.168.77.1', '255.255.0.0')],
    };
    sockets = new FakeSockets();
    log = new RecordingLogger();
  });

  it('sends one probe per bridge per send(), to each bridge\'s directed broadcast, with the nonce and a seq', async () => {
    const probe = make(['br0', 'br-guest']);
    expect(await probe.send()).toBe(2);
    now += 1_000;
    expect(await probe.send()).toBe(2);

    expect(sockets.opened.map((socket) => [socket.target.bindAddress, socket.target.label])).toEqual([
      ['10.88.0.1', '10.88.0.255:9'],
      ['192.168.77.1', '192.168.255.255:9'],
    ]);
    expect(sockets.opened[0]!.sent).toEqual([
      'lanwatch loop probe v1 0123456789abcdef 0000000001',
      'lanwatch loop probe v1 0123456789abcdef 0000000002',
    ]);
    expect(sockets.opened[1]!.sent).toHaveLength(2);
    expect(probe.nonceHex).toBe('0123456789abcdef');
    expect(probe.status()).toEqual([
      { bridge: 'br0', via: 'ipv4-broadcast', destination: '10.88.0.255:9', sent: 2, failed: 0, skipped: 0, lastError: null, lastSentAt: EPOCH + 1_000, detail: null },
      { bridge: 'br-guest', via: 'ipv4-broadcast', destination: '192.168.255.255:9', sent: 2, failed: 0, skipped: 0, lastError: null, lastSentAt: EPOCH + 1_000, detail: null },
    ]);
    expect(log.at('info')).toEqual([
      'loop probe on br0: ipv4-broadcast to 10.88.0.255:9 from 10.88.0.1',
      'loop probe on br-guest: ipv4-broadcast to 192.168.255.255:9 from 192.168.77.1',
    ]);
  });

  it('reuses one socket and one payload Buffer per bridge, the seq rewritten in place', async () => {
    const probe = make();
    for (let i = 0; i < 5; i++) {
      await probe.send();
      now += 1_000;
    }
    expect(sockets.opened).toHaveLength(1);
    const [first, ...rest] = sockets.opened[0]!.buffers;
    for (const buffer of rest) expect(buffer).toBe(first);
    expect(first!.toString('latin1')).toMatch(/ 0000000005$/);
  });

  it('sends out of one bridge only when named', async () => {
    const probe = make(['br0', 'br-guest']);
    expect(await probe.send('br-guest')).toBe(1);
    expect(await probe.send('nope')).toBe(0);
    expect(sockets.opened.map((socket) => socket.target.bindAddress)).toEqual(['192.168.77.1']);
  });

  it('rate-limits out-of-schedule sends per bridge (100 ms by default)', async () => {
    const probe = make(['br0', 'br-guest']);
    expect(await probe.send()).toBe(2);
    now += 40;
    expect(await probe.send('br0')).toBe(0); // an FDB hint 40 ms after the scheduled probe
    now += 59;
    expect(await probe.send()).toBe(0);
    now += 1;
    expect(await probe.send('br0')).toBe(1); // 100 ms after the last one
    now += 50;
    expect(await probe.send()).toBe(1); // br0 limited, br-guest last sent 150 ms ago
    const [br0, guest] = probe.status();
    expect(br0).toMatchObject({ sent: 2, skipped: 3 });
    expect(guest).toMatchObject({ sent: 2, skipped: 1 });
  });

  it('takes the interval from the options', async () => {
    const probe = make(['br0'], { minIntervalMs: 1_000 });
    await probe.send();
    now += 999;
    expect(await probe.send()).toBe(0);
    now += 1;
    expect(await probe.send()).toBe(1);
  });

  it('skips a send while the previous one on that bridge is still under way', async () => {
    const probe = make();
    let release!: () => void;
    sockets.gate = new Promise((resolve) => { release = resolve; });
    const first = probe.send();
    now += 500;
    expect(await probe.send()).toBe(0);
    release();
    sockets.gate = null;
    expect(await first).toBe(1);
    expect(probe.status()[0]).toMatchObject({ sent: 1, skipped: 1, failed: 0 });
  });

  it('falls back to IPv6 all-nodes from the link-local address when the bridge has no usable IPv4', async () => {
    table.br0 = [v4('10.0.0.1', '255.255.255.255'), linkLocal('fe80::88:1')];
    const probe = make();
    expect(await probe.send()).toBe(1);
    expect(sockets.opened[0]!.target).toMatchObject({ family: 6, bindAddress: 'fe80::88:1%br0', destination: 'ff02::1%br0' });
    expect(probe.status()[0]).toMatchObject({ via: 'ipv6-all-nodes', destination: '[ff02::1%br0]:9', detail: null });
  });

  it('reports a bridge without an address as "no address: probe off", logged once', async () => {
    table.br0 = [];
    const probe = make(['br0', 'br-guest'], { addressCheckMs: 1_000 });
    for (let i = 0; i < 5; i++) {
      expect(await probe.send()).toBe(1); // br-guest only
      now += 1_000;
    }
    probe.refresh();
    expect(probe.status()[0]).toEqual({
      bridge: 'br0', via: null, destination: null, sent: 0, failed: 0, skipped: 0, lastError: null, lastSentAt: null,
      detail: 'no address: probe off',
    });
    expect(log.at('warn')).toHaveLength(1);
    expect(log.at('warn')[0]).toMatch(/^loop probe on br0: no address: probe off/);
    expect(sockets.opened.map((socket) => socket.target.bindAddress)).toEqual(['192.168.77.1']);

    // The address arrives (DHCP): the probe starts; it goes again: off, without a second warning.
    table.br0 = [v4('10.88.0.1')];
    probe.refresh();
    expect(await probe.send('br0')).toBe(1);
    table.br0 = [];
    probe.refresh();
    expect(probe.status()[0]!.detail).toBe('no address: probe off');
    expect(log.at('warn')).toHaveLength(1);
  });

  it('counts failures without throwing; the first of each code per bridge at warn, repeats at debug', async () => {
    const probe = make();
    sockets.sendFailures = [errnoError('EADDRNOTAVAIL'), errnoError('EADDRNOTAVAIL'), errnoError('ENOBUFS'), errnoError('EPERM')];
    for (let i = 0; i < 4; i++) {
      await expect(probe.send()).resolves.toBe(0);
      now += 1_000;
    }
    expect(await probe.send()).toBe(1);
    expect(probe.status()[0]).toMatchObject({ sent: 1, failed: 4, lastError: 'send EPERM', lastSentAt: EPOCH + 4_000 });
    const warns = log.at('warn');
    expect(warns).toHaveLength(3);
    expect(warns[0]).toBe('loop probe on br0 (ipv4-broadcast to 10.88.0.255:9) failed: send EADDRNOTAVAIL; ' +
      'further EADDRNOTAVAIL failures on br0 are logged at debug level');
    expect(warns[1]).toMatch(/ENOBUFS/);
    expect(warns[2]).toMatch(/EPERM/);
    expect(log.at('debug')).toEqual(['loop probe on br0 (ipv4-broadcast to 10.88.0.255:9) failed: send EADDRNOTAVAIL']);
    // A failed send keeps its seq: the capture shows the gap.
    expect(sockets.opened[0]!.sent).toEqual(['lanwatch loop probe v1 0123456789abcdef 0000000005']);
  });

  it('counts a socket that fails to open, and opens it again at the next send', async () => {
    const probe = make();
    sockets.openFailures = [errnoError('EADDRNOTAVAIL', 'bind')];
    expect(await probe.send()).toBe(0);
    expect(probe.status()[0]).toMatchObject({ failed: 1, lastError: 'bind EADDRNOTAVAIL' });
    now += 1_000;
    expect(await probe.send()).toBe(1);
    expect(sockets.opened).toHaveLength(1);
    expect(probe.status()[0]).toMatchObject({ sent: 1, failed: 1 });
  });

  it('never rejects, not even when the interface list cannot be read', async () => {
    const failing = new BroadcastProbe([{ name: 'br0' }], {
      log, nonce: NONCE, openSocket: sockets.factory, now: () => now,
      networkInterfaces: () => { throw new Error('uv_interface_addresses ENOMEM'); },
    });
    await expect(failing.send()).resolves.toBe(0);
    expect(failing.status()[0]!.detail).toBe('no address: probe off');
    expect(log.at('warn').some((line) => line.includes('cannot list interface addresses'))).toBe(true);
  });

  describe('addresses', () => {
    it('re-reads them at most every addressCheckMs', async () => {
      const probe = make(['br0'], { addressCheckMs: 10_000 });
      expect(reads).toBe(1); // at construction
      for (let i = 0; i < 9; i++) {
        await probe.send();
        now += 1_000;
      }
      expect(reads).toBe(1);
      now += 1_000; // 10 s since the first read
      await probe.send();
      expect(reads).toBe(2);
    });

    it('rebuilds the socket when the address changed (DHCP), and only then', async () => {
      const probe = make(['br0'], { addressCheckMs: 10_000 });
      await probe.send();
      now += 1_000;
      probe.refresh(); // nothing changed: same socket
      await probe.send();
      expect(sockets.opened).toHaveLength(1);
      expect(sockets.opened[0]!.closes).toBe(0);

      table.br0 = [v4('10.88.7.20', '255.255.0.0')];
      now += 1_000;
      await probe.send(); // within addressCheckMs and no refresh: still the old target
      expect(sockets.opened).toHaveLength(1);
      probe.refresh();
      now += 1_000;
      await probe.send();
      expect(sockets.opened.map((socket) => socket.target.label)).toEqual(['10.88.0.255:9', '10.88.255.255:9']);
      expect(sockets.opened[0]!.closes).toBe(1);
      expect(probe.status()[0]).toMatchObject({ destination: '10.88.255.255:9', sent: 4 });
      // The seq goes on across sockets.
      expect(sockets.opened[1]!.sent).toEqual(['lanwatch loop probe v1 0123456789abcdef 0000000004']);
    });

    it('notices a changed address at the periodic re-read without refresh()', async () => {
      const probe = make(['br0'], { addressCheckMs: 5_000 });
      await probe.send();
      table.br0 = [v4('10.88.0.9')];
      now += 5_000;
      await probe.send();
      expect(sockets.opened.map((socket) => socket.target.bindAddress)).toEqual(['10.88.0.1', '10.88.0.9']);
    });

    it('re-reads them at the next send at least a second after the last read, once a send failed', async () => {
      const probe = make(['br0'], { addressCheckMs: 60_000 });
      await probe.send();
      table.br0 = [v4('10.88.0.44')];
      sockets.sendFailures = [errnoError('EADDRNOTAVAIL')];
      now += 300;
      expect(await probe.send()).toBe(0);
      expect(reads).toBe(1);
      now += 400;
      await probe.send(); // the read is 700 ms old: not yet (out-of-schedule sends must not re-read each time)
      expect(reads).toBe(1);
      now += 300;
      expect(await probe.send()).toBe(1);
      expect(reads).toBe(2);
      expect(sockets.opened.map((socket) => socket.target.bindAddress)).toEqual(['10.88.0.1', '10.88.0.44']);
    });
  });

  describe('setBridges', () => {
    it('closes the sockets of bridges no longer named, keeps the others and their counters', async () => {
      const probe = make(['br0', 'br-guest']);
      await probe.send();
      probe.setBridges([{ name: 'br0' }]);
      await new Promise(setImmediate); // sockets close in the background
      expect(sockets.opened.map((socket) => socket.closes)).toEqual([0, 1]);
      expect(probe.status().map((status) => [status.bridge, status.sent])).toEqual([['br0', 1]]);
      now += 1_000;
      expect(await probe.send()).toBe(1);
      expect(sockets.opened).toHaveLength(2);
    });
  });

  describe('close', () => {
    it('closes every socket once; idempotent; later sends do nothing', async () => {
      const probe = make(['br0', 'br-guest']);
      await probe.send();
      const closing = probe.close();
      expect(probe.close()).toBe(closing);
      await closing;
      await probe.close();
      expect(sockets.opened.map((socket) => socket.closes)).toEqual([1, 1]);
      now += 1_000;
      expect(await probe.send()).toBe(0);
      probe.refresh();
      expect(sockets.opened).toHaveLength(2);
    });

    it('closes a socket that was still opening, and counts no failure for it', async () => {
      const probe = make();
      let release!: () => void;
      sockets.openGate = new Promise((resolve) => { release = resolve; });
      const sending = probe.send();
      const closing = probe.close();
      release();
      expect(await sending).toBe(0);
      await closing;
      expect(sockets.opened[0]!.closes).toBe(1);
      expect(sockets.opened[0]!.sent).toEqual([]);
      expect(probe.status()[0]).toMatchObject({ sent: 0, failed: 0 });
    });

    it('is fine with no socket ever opened', async () => {
      const probe = make();
      await expect(probe.close()).resolves.toBeUndefined();
    });
  });
});
