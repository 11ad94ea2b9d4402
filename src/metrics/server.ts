/**
 * The opt-in HTTP endpoint Prometheus scrapes. It serves one small text document, so it
 * is a bare node:http server with tight limits: on a router a stuck or hostile client
 * must not be able to pin sockets or memory, and a failure to listen must be one clear
 * log line, never a crash of the agent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXPOSITION_CONTENT_TYPE } from './exposition.ts';

export interface MetricsLog {
  warn(message: string): void;
}

/** All in ms. A scrape is one short request on a LAN; anything slower is not a scraper. */
export interface MetricsServerLimits {
  /** Time to receive the request headers. */
  headersTimeout: number;
  /** Time to receive the whole request. Must not be below headersTimeout. */
  requestTimeout: number;
  /** Idle time a kept-alive connection waits for the next request. */
  keepAliveTimeout: number;
  /** A socket that neither sends nor reads for this long is destroyed (a client not reading its reply). */
  socketIdleTimeout: number;
  /** How often the request and header deadlines are enforced; Node's default is 30 s. */
  checkInterval: number;
  maxConnections: number;
}

export const DEFAULT_METRICS_SERVER_LIMITS: MetricsServerLimits = {
  headersTimeout: 3_000,
  requestTimeout: 5_000,
  keepAliveTimeout: 5_000,
  socketIdleTimeout: 10_000,
  checkInterval: 1_000,
  maxConnections: 16,
};

export interface MetricsServerOptions {
  address: string;
  port: number;
  render: () => string;
  log: MetricsLog;
  /** Tests shorten these; the agent keeps the defaults. */
  limits?: Partial<MetricsServerLimits>;
}

export interface MetricsServer {
  close(): Promise<void>;
  address: { address: string; port: number };
}

const INDEX_PAGE = 'lanwatch Prometheus exporter\nMetrics are at /metrics\n';

const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'address not available on this host',
  EAFNOSUPPORT: 'address family not supported',
  ENOTFOUND: 'address does not resolve',
  EINVAL: 'invalid address',
};

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One line the agent can log as is, e.g. "prometheus: cannot listen on 127.0.0.1:9839: address already in use". */
export function listenErrorMessage(address: string, port: number, error: NodeJS.ErrnoException): string {
  const reason = (error.code === undefined ? undefined : LISTEN_REASONS[error.code]) ?? error.message;
  return `prometheus: cannot listen on ${hostPort(address, port)}: ${reason}`;
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(payload.length),
    ...headers,
  });
  // Node drops the body of a reply to HEAD itself; Content-Length still tells the size.
  res.end(payload);
}

function handle(req: IncomingMessage, res: ServerResponse, render: () => string, log: MetricsLog): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics' && path !== '/') {
    reply(res, 404, 'not found; metrics are at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  if (path === '/') {
    reply(res, 200, INDEX_PAGE);
    return;
  }
  let body: string;
  try {
    body = render();
  } catch (error) {
    // A bug in one scrape must not take the endpoint (or the agent) down with it.
    log.warn(`prometheus: rendering metrics failed: ${(error as Error).message}`);
    reply(res, 500, 'rendering metrics failed\n');
    return;
  }
  reply(res, 200, body, { 'Content-Type': EXPOSITION_CONTENT_TYPE });
}

export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { address, port, render, log } = options;
  const limits = { ...DEFAULT_METRICS_SERVER_LIMITS, ...options.limits };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: limits.checkInterval,
      maxHeaderSize: 8 * 1024,
    },
    (req, res) => handle(req, res, render, log),
  );
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = 100;
  // Without a 'timeout' listener Node destroys the idle socket, which is what we want.
  // No 'clientError' listener either: Node's own answers a bad or late request with
  // 400/408/431 and closes it, without a log line per misbehaving client.
  server.timeout = limits.socketIdleTimeout;

  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.close();
      reject(Object.assign(new Error(listenErrorMessage(address, port, error), { cause: error }), { code: error.code }));
    };
    server.once('error', onError);
    server.listen({ host: address, port }, () => {
      server.off('error', onError);
      // A listening server can still fail (EMFILE on accept): log it, do not crash the agent.
      server.on('error', (error) => log.warn(`prometheus: ${error.message}`));
      const bound = server.address() as AddressInfo;
      resolve({
        address: { address: bound.address, port: bound.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Replies are written in one go, so no open connection has anything left to send.
            server.closeAllConnections();
          }),
      });
    });
  });
}
