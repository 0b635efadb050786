import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Bounds on the connections the gateway holds open (see {@linkcode createConnectionGuard}). */
export interface ConnectionLimits {
  /** Connections open at once, over every listener. */
  readonly maxConnections: number;
  /** Connections open at once from one remote address. */
  readonly maxConnectionsPerAddress: number;
}

/** What the guard did, for metrics and logs. */
export type ConnectionVerdict = 'evicted-idle' | 'refused-total' | 'refused-address';

export interface ConnectionGuard {
  /** Counts and bounds a server's connections; several servers may share one guard. */
  watch(server: Server): void;
  /** Connections open now. */
  readonly open: number;
}

/** One client connection: its address, and the requests it has in progress. */
interface Connection {
  readonly socket: Socket;
  readonly address: string;
  /** Requests whose headers arrived and whose response has not ended. */
  busy: number;
}

/** The connections of one remote address; `idle` in the order they became idle. */
interface AddressConnections {
  count: number;
  readonly idle: Map<Socket, Connection>;
}

// What a connection turned away hears: a complete answer, so a legitimate client knows why.
const REFUSAL_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: null,
  error: { code: -32000, message: 'mcp-lifeline: too many connections; try again shortly' },
});
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n' +
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`;

/**
 * Caps connections in total and per remote address, so that sockets nobody uses cannot take every
 * file descriptor (issue 16: 1,100 idle connections under `ulimit -n 1024` left legitimate calls
 * failing). At a cap, a new connection first takes the place of the connection that has been idle
 * longest (no request in progress: it never sent a complete request, or waits between keep-alive
 * requests), so idle and trickling sockets cannot crowd out callers; only when every connection
 * under the cap is serving a request is the new one refused, with a 503. Idle and slow connections
 * are also closed on their own by the server's header and keep-alive timeouts.
 */
export function createConnectionGuard(limits: ConnectionLimits, onVerdict: (verdict: ConnectionVerdict) => void): ConnectionGuard {
  const all = new Map<Socket, Connection>();
  // Idle connections, oldest first (a connection moves to the end each time it becomes idle).
  const idle = new Map<Socket, Connection>();
  const byAddress = new Map<string, AddressConnections>();

  const becomeIdle = (connection: Connection) => {
    idle.set(connection.socket, connection);
    byAddress.get(connection.address)?.idle.set(connection.socket, connection);
  };
  const becomeBusy = (connection: Connection) => {
    idle.delete(connection.socket);
    byAddress.get(connection.address)?.idle.delete(connection.socket);
  };
  const forget = (connection: Connection) => {
    if (all.get(connection.socket) !== connection) return;
    all.delete(connection.socket);
    becomeBusy(connection);
    const mine = byAddress.get(connection.address);
    if (mine !== undefined && --mine.count === 0) byAddress.delete(connection.address);
  };
  /** Closes the connection idle longest among `candidates`; false when none is idle. */
  const evictOldest = (candidates: Map<Socket, Connection>): boolean => {
    const oldest = candidates.values().next().value as Connection | undefined;
    if (oldest === undefined) return false;
    forget(oldest);
    oldest.socket.destroy();
    onVerdict('evicted-idle');
    return true;
  };

  function admit(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const mine = byAddress.get(address);
    if (mine !== undefined && mine.count >= limits.maxConnectionsPerAddress && !evictOldest(mine.idle)) {
      refuse(socket, 'refused-address');
      return;
    }
    if (all.size >= limits.maxConnections && !evictOldest(idle)) {
      refuse(socket, 'refused-total');
      return;
    }
    const connection: Connection = { socket, address, busy: 0 };
    all.set(socket, connection);
    const entry = byAddress.get(address) ?? { count: 0, idle: new Map() };
    entry.count += 1;
    byAddress.set(address, entry);
    becomeIdle(connection);
    socket.once('close', () => forget(connection));
  }

  function refuse(socket: Socket, verdict: ConnectionVerdict): void {
    onVerdict(verdict);
    // Closed once the answer is out, whether or not the peer reads it or closes its side.
    socket.end(REFUSAL, () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  function started(req: IncomingMessage, res: ServerResponse): void {
    const connection = all.get(req.socket);
    if (connection === undefined) return;
    if (connection.busy++ === 0) becomeBusy(connection);
    res.once('close', () => {
      if (--connection.busy === 0 && all.get(connection.socket) === connection) becomeIdle(connection);
    });
  }

  return {
    watch(server) {
      server.on('connection', admit);
      server.on('request', started);
    },
    get open() {
      return all.size;
    },
  };
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The default connection cap: half the process's open-file limit (the rest for upstreams, the store, files), at most 4096. */
export function defaultMaxConnections(): number {
  const limit = openFileLimit();
  if (limit === undefined) return 512;
  return Math.max(16, Math.min(4096, Math.floor(limit / 2)));
}

/** The soft open-file limit (`ulimit -n`) where the system tells it (Linux); undefined elsewhere. */
function openFileLimit(): number | undefined {
  try {
    const match = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (match === null) return undefined;
    return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
  } catch {
    return undefined;
  }
}
