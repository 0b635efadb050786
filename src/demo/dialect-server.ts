import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { sleep } from '../shared/timers.js';
import { answerByFault, answerGetByFault, answerToolCallByFault, type DialectServerFaults } from './dialect-faults.js';
import { header, INVALID_JSON, isInitialize, isToolCall, quoteHeaders, readJson, requestIdOf, rpcMethodsOf } from './dialect-requests.js';
import { createToolServer, type ToolHost, type ToolSessionState } from './dialect-tools.js';
import { DIALECTS, type Dialect } from './dialects.js';

export type { Sabotage } from './dialect-answers.js';

/** Options of {@linkcode startDialectServer}. */
export interface DialectServerOptions {
  /** @default 0 (any free port) */
  readonly port?: number;
  /**
   * How to answer a request for a session the server does not know.
   * @default 'spec-404'
   */
  readonly dialect?: Dialect;
  /** Issue no session ids: every request stands alone (a stateless or 2026-07-28 server). @default false */
  readonly stateless?: boolean;
  /** Forget a session idle for this long, in ms. @default undefined (never) */
  readonly idleTimeoutMs?: number;
  /** Forget every session after this many tool calls, rotating through `rotate`. @default undefined */
  readonly dropEvery?: number;
  /** Dialects to rotate through at each drop. @default [dialect] */
  readonly rotate?: readonly Dialect[];
  /** Answer JSON instead of SSE. @default false */
  readonly jsonResponse?: boolean;
  /** Sees every HTTP request (and its parsed body) before it is handled. @default undefined */
  readonly onRequest?: (req: IncomingMessage, body: unknown) => void;
  /** Answer GET with 405: offer no server-to-client event stream. @default false */
  readonly noEventStream?: boolean;
  /** Called when `increment` runs, before it answers, with its `key` argument. @default undefined */
  readonly onExecuted?: (key: string | undefined) => void;
}

/** What the server counted: the ground truth tests and the demo assert on. */
interface DialectServerCounters {
  /** `initialize` requests that opened a session. */
  initializations: number;
  /** Runs of the non-idempotent `increment` tool. */
  executions: number;
  /** Runs per `key` argument of `increment`: a key counted twice means a call ran twice. */
  readonly executionsByKey: Map<string, number>;
  /** Tool calls of any tool. */
  toolCalls: number;
  /** Requests answered in the lost-session dialect. */
  lostAnswers: number;
  /** DELETE requests that terminated a live session. */
  deletes: number;
  /** Times every session was dropped. */
  drops: number;
  /** `key` arguments of the tool calls answered broken (see faults.sabotage); they never ran. */
  readonly sabotaged: string[];
  /** HTTP requests by method. */
  readonly httpRequests: Record<string, number>;
  /** JSON-RPC requests and notifications by method (`ping`, `tools/call`…), whatever the answer. */
  readonly rpcMethods: Record<string, number>;
}

/** Per-session state the server keeps, which a recovery must restore. */
interface SessionView {
  readonly id: string;
  readonly logLevel: string | undefined;
  readonly subscriptions: readonly string[];
}

export interface DialectServer {
  readonly url: string;
  readonly port: number;
  readonly counters: DialectServerCounters;
  /** The dialect the next lost-session answer uses. */
  dialect: Dialect;
  /** Live sessions, oldest first. */
  sessions(): SessionView[];
  /** Forgets every session, as a restart would. */
  dropSessions(): void;
  /** Faults to inject; mutate freely. */
  readonly faults: DialectServerFaults;
  /** Sends every live session an unsolicited `notifications/resources/updated` per subscription. */
  notifySubscribers(): Promise<number>;
  /**
   * Refuses connections for `ms` (a network blip): stops listening, lets requests in flight
   * finish, drops every connection, then listens again on the same port. Sessions survive.
   */
  suspend(ms: number): Promise<void>;
  /** Stops accepting, lets requests in flight finish (up to `limitMs`), then closes like close(). */
  drain(limitMs: number): Promise<void>;
  /** Stops accepting connections and closes every session and socket. */
  close(): Promise<void>;
}

interface LiveSession extends ToolSessionState {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  /** Forgotten at its first tool call (faults.loseNewSessions). */
  doomed: boolean;
}

/**
 * Starts, on 127.0.0.1, an MCP server built on the official SDK's server transport that forgets
 * sessions on demand and then answers in a chosen dialect. It counts what it executes, so callers
 * can prove that nothing ran twice.
 */
export async function startDialectServer(options: DialectServerOptions = {}): Promise<DialectServer> {
  const core = new DialectServerCore(options);
  await core.listen(options.port ?? 0);
  const { port } = core.http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    counters: core.counters,
    get dialect() {
      return core.dialect;
    },
    set dialect(value: Dialect) {
      core.dialect = value;
    },
    sessions: () => core.sessionViews(),
    dropSessions: () => core.dropSessions(),
    faults: core.faults,
    notifySubscribers: () => core.notifySubscribers(),
    async suspend(ms) {
      await core.quiesce(2000);
      await delay(ms, AbortSignal.timeout(ms + 60_000));
      core.accepting = true;
      await core.listen(port);
    },
    async drain(limitMs) {
      await core.quiesce(limitMs);
      core.forgetSessions();
    },
    close: () => core.close(),
  };
}

/** The dialect server's state (its sessions, counters, faults, dialect) and what it does with a request. */
class DialectServerCore implements ToolHost {
  readonly counters: DialectServerCounters = {
    initializations: 0,
    executions: 0,
    executionsByKey: new Map(),
    toolCalls: 0,
    lostAnswers: 0,
    deletes: 0,
    drops: 0,
    sabotaged: [],
    httpRequests: {},
    rpcMethods: {},
  };
  readonly faults: DialectServerFaults = {};
  /** The dialect the next lost-session answer uses. */
  dialect: Dialect;
  /** False while suspended or draining: new connections are destroyed unread. */
  accepting = true;
  readonly http: HttpServer;
  private readonly options: DialectServerOptions;
  private readonly rotation: readonly Dialect[];
  private readonly live = new Map<string, LiveSession>();
  private callsSinceDrop = 0;
  // Requests other than the long-lived GET stream, so a drain can wait for them to finish.
  private inFlight = 0;

  constructor(options: DialectServerOptions) {
    this.options = options;
    this.rotation = options.rotate ?? [options.dialect ?? 'spec-404'];
    this.dialect = options.dialect ?? this.rotation[0] ?? 'spec-404';
    this.http = createServer((req, res) => this.accept(req, res));
  }

  listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting, lets requests in flight finish (up to `limitMs`), then drops every connection. */
  async quiesce(limitMs: number): Promise<void> {
    this.accepting = false;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const deadline = Date.now() + limitMs;
    while (this.inFlight > 0 && Date.now() < deadline) await delay(10, AbortSignal.timeout(1000));
    this.http.closeAllConnections();
    await closed;
  }

  async close(): Promise<void> {
    this.forgetSessions();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  sessionViews(): SessionView[] {
    return [...this.live.entries()].map(([id, session]) => ({ id, logLevel: session.logLevel, subscriptions: [...session.subscriptions] }));
  }

  forgetSessions(): void {
    const sessions = [...this.live.values()];
    this.live.clear();
    for (const session of sessions) void session.transport.close().catch(() => {});
  }

  dropSessions(): void {
    this.counters.drops += 1;
    this.forgetSessions();
  }

  async notifySubscribers(): Promise<number> {
    let sent = 0;
    for (const session of this.live.values()) {
      for (const uri of session.subscriptions) {
        await session.server.sendResourceUpdated({ uri });
        sent += 1;
      }
    }
    return sent;
  }

  executions(): number {
    return this.counters.executions;
  }

  called(): void {
    this.counters.toolCalls += 1;
  }

  execute(args: Record<string, unknown>): void {
    const { counters } = this;
    counters.executions += 1;
    const key = typeof args['key'] === 'string' ? args['key'] : undefined;
    if (key !== undefined) counters.executionsByKey.set(key, (counters.executionsByKey.get(key) ?? 0) + 1);
    this.options.onExecuted?.(key);
  }

  afterToolCall(): void {
    if (this.options.dropEvery === undefined) return;
    this.callsSinceDrop += 1;
    if (this.callsSinceDrop < this.options.dropEvery) return;
    this.callsSinceDrop = 0;
    // Drop once this answer is on its way, so the next call meets the lost session, answered in
    // the next dialect of the rotation.
    setImmediate(() => {
      this.dialect = this.rotation[this.counters.drops % this.rotation.length] ?? this.dialect;
      this.dropSessions();
    });
  }

  private accept(req: IncomingMessage, res: ServerResponse): void {
    if (!this.accepting) {
      req.socket.destroy(); // never read, never run
      return;
    }
    if (req.method !== 'GET') {
      this.inFlight += 1;
      res.once('close', () => {
        this.inFlight -= 1;
      });
    }
    this.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { counters, faults } = this;
    const method = req.method ?? 'GET';
    counters.httpRequests[method] = (counters.httpRequests[method] ?? 0) + 1;
    const body = method === 'POST' ? await readJson(req) : undefined;
    for (const rpcMethod of rpcMethodsOf(body)) counters.rpcMethods[rpcMethod] = (counters.rpcMethods[rpcMethod] ?? 0) + 1;
    this.options.onRequest?.(req, body);
    if (answerByFault(faults, res, method, body)) return;
    if (faults.delayMs !== undefined && faults.delayMs > 0) await delay(faults.delayMs, AbortSignal.timeout(60_000));
    if (body === INVALID_JSON) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    if (this.options.stateless) return this.handleStateless(req, res, body);
    if (method === 'GET' && answerGetByFault(faults, this.options.noEventStream ?? false, res)) return;
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined && isInitialize(body)) return this.openSession(req, res, body);
    const session = sessionId === undefined ? undefined : this.live.get(sessionId);
    if (session !== undefined && this.options.idleTimeoutMs !== undefined && Date.now() - session.lastSeen > this.options.idleTimeoutMs) {
      this.live.delete(sessionId as string);
      void session.transport.close();
      return this.answerLost(req, res, requestIdOf(body));
    }
    if (session === undefined) return this.answerLost(req, res, requestIdOf(body));
    if (session.doomed && isToolCall(body)) {
      this.live.delete(sessionId as string);
      void session.transport.close();
      return this.answerLost(req, res, requestIdOf(body));
    }
    if (faults.rejectSessions !== undefined && method !== 'DELETE') {
      if (faults.rejectSessions === 'requests' && requestIdOf(body) === undefined && method === 'POST') {
        res.writeHead(202).end();
        return;
      }
      return this.answerLost(req, res, requestIdOf(body));
    }
    session.lastSeen = Date.now();
    if (method === 'DELETE') counters.deletes += 1;
    if (isToolCall(body) && answerToolCallByFault(faults, this, req, res, body)) return;
    await session.transport.handleRequest(req, res, body);
  }

  private answerLost(req: IncomingMessage, res: ServerResponse, requestId: unknown): void {
    this.counters.lostAnswers += 1;
    const answer = DIALECTS[this.dialect](requestId);
    const body = this.faults.echoHeaders
      ? answer.body.replace('Session not found', `Session not found (request headers: ${quoteHeaders(req)})`)
      : answer.body;
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(body, () => this.faults.afterLostAnswer?.());
  }

  private async openSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const { faults, counters } = this;
    if (faults.initializeDelayMs !== undefined) await delay(faults.initializeDelayMs, AbortSignal.timeout(60_000));
    if (faults.initializeStatus !== undefined) {
      const quoted = faults.echoHeaders ? `; you sent ${quoteHeaders(req)}` : '';
      res
        .writeHead(faults.initializeStatus, { 'content-type': 'text/plain' })
        .end(`initialize refused (${faults.initializeStatus})${quoted}`);
      return;
    }
    let current: LiveSession | undefined;
    const server = createToolServer(this, () => current);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: this.options.jsonResponse ?? false,
      onsessioninitialized: (id) => {
        counters.initializations += 1;
        const doomed = (faults.loseNewSessions ?? 0) > 0;
        if (doomed) faults.loseNewSessions = (faults.loseNewSessions ?? 0) - 1;
        current = { transport, server, lastSeen: Date.now(), logLevel: undefined, subscriptions: new Set(), doomed };
        this.live.set(id, current);
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.live.get(id)?.transport === transport) this.live.delete(id);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  private async handleStateless(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const server = createToolServer(this, () => undefined);
    // No sessionIdGenerator: the SDK's stateless mode.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: this.options.jsonResponse ?? false });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    if (isInitialize(body)) this.counters.initializations += 1;
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }
}

/** A wait of the server's own (a suspension, a delay fault): ends with the signal's reason when it aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, { signal, onAbort: 'reject' });
}
