/**
 * A transport for unit tests: records requests and lets the test deliver datagrams
 * (hand-built or captured from a real kernel) and errors.
 */
import type {
  NetlinkTransport,
  NetlinkTransportFactory,
  NetlinkTransportHandlers,
  NetlinkTransportOptions,
} from './transport.ts';

export class MockNetlinkTransport implements NetlinkTransport {
  readonly sent: Buffer[] = [];
  closed = false;
  constructor(
    readonly protocol: number,
    readonly handlers: NetlinkTransportHandlers,
    readonly options: NetlinkTransportOptions,
  ) {}

  send(request: Uint8Array): void {
    this.sent.push(Buffer.from(request));
  }

  close(): void {
    this.closed = true;
  }

  deliver(datagram: Buffer): void {
    this.handlers.onDatagram(datagram);
  }

  fail(code: string, message = code): void {
    const error: NodeJS.ErrnoException = new Error(message);
    error.code = code;
    this.handlers.onError(error);
  }

  /** Sequence number of the last request sent. */
  lastSeq(): number {
    const last = this.sent.at(-1);
    if (!last) throw new Error('no request sent');
    return last.readUInt32LE(8);
  }
}

/** A factory that hands out mock transports and remembers them in creation order. */
export function mockTransportFactory(): NetlinkTransportFactory & { created: MockNetlinkTransport[] } {
  const created: MockNetlinkTransport[] = [];
  const factory: NetlinkTransportFactory = (protocol, handlers, options = {}) => {
    const transport = new MockNetlinkTransport(protocol, handlers, options);
    created.push(transport);
    return transport;
  };
  return Object.assign(factory, { created });
}
