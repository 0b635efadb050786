import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { sleep } from '../shared/timers.js';
import { DIALECTS, type Dialect } from './dialects.js';

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

/** Broken answers a fault can give a tool call instead of running it. */
export type Sabotage = 'malformed-json' | 'truncated-json' | 'cut-sse';

/** Faults a test or the soak can switch on while the server runs. */
export interface DialectServerFaults {
  /** Answer `initialize` with this HTTP status instead of opening a session. */
  initializeStatus?: number | undefined;
  /** Hold `initialize` this long (ms) before handling it. */
  initializeDelayMs?: number | undefined;
  /** Run the next tool call, then destroy the connection instead of answering. */
  cutNextToolCall?: boolean | undefined;
  /** Called right after a lost-session answer was sent. */
  afterLostAnswer?: (() => void) | undefined;
  /** Answer the next `count` tool calls broken, without running them. */
  sabotage?: { kind: Sabotage; count: number } | undefined;
  /** Hold every request this long (ms) before handling it. */
  delayMs?: number | undefined;
  /** Answer every GET with this status (a server that refuses the event stream). */
  refuseGet?: number | undefined;
  /** Answer every GET with a 200 event stream whose only event is a session error, then end it. */
  getOpensWithSessionError?: boolean | undefined;
  /**
   * Open sessions at `initialize`, then answer every request on them as lost (a load balancer
   * without sticky sessions): `all` (notifications too) or `requests` (notifications accepted).
   * DELETE still ends the session.
   */
  rejectSessions?: 'all' | 'requests' | undefined;
  /** Quote the request's headers in error bodies: a refused `initialize` and lost-session answers. */
  echoHeaders?: boolean | undefined;
  /** Answer `ping` with this HTTP status (a server that cannot confirm anything). */
  failPing?: number | undefined;
  /** Run the next tool calls, then end their event stream with a notification but no answer. */
  endWithoutAnswer?: boolean | undefined;
  /** Redirect requests whose JSON-RPC method or HTTP method is listed (only `count` of them, when given). */
  redirect?:
    | { rpcMethods?: readonly string[]; httpMethods?: readonly string[]; location: string; status?: number; count?: number }
    | undefined;
}

/** What the server counted: the ground truth tests and the demo assert on. */
export interface DialectServerCounters {
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
export interface SessionView {
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

interface LiveSession {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  lastSeen: number;
  logLevel: string | undefined;
  readonly subscriptions: Set<string>;
}

const TOOLS = [
  {
    name: 'increment',
    description: 'Adds one to a server-side counter and returns it. Not idempotent: a replay would count twice.',
    inputSchema: { type: 'object', properties: { key: { type: 'string' } } },
  },
  {
    name: 'echo',
    description: 'Returns its text.',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
  {
    name: 'slow',
    description: 'Answers after ms milliseconds.',
    inputSchema: { type: 'object', properties: { ms: { type: 'number' } }, required: ['ms'] },
  },
  {
    name: 'payload',
    description: 'Returns a text of the given size in bytes.',
    inputSchema: { type: 'object', properties: { bytes: { type: 'number' } }, required: ['bytes'] },
  },
  {
    name: 'fail',
    description:
      'Runs (counted under key), then fails with its own error: a JSON-RPC error (code, message), an isError result ' +
      '(asResult), or an HTTP answer (status, with sse for an event stream) whose body is {"detail": message}.',
    inputSchema: {
      type: 'object',
      properties: {
        key: { type: 'string' },
        code: { type: 'number' },
        message: { type: 'string' },
        asResult: { type: 'boolean' },
        status: { type: 'number' },
        sse: { type: 'boolean' },
      },
      required: ['message'],
    },
  },
  {
    name: 'ask_client',
    description: 'Sends the client a sampling/createMessage request and returns its answer.',
    inputSchema: { type: 'object', properties: { prompt: { type: 'string' } } },
  },
];

const COUNTER_URI = 'lifeline://counter';

/**
 * Starts, on 127.0.0.1, an MCP server built on the official SDK's server transport that forgets
 * sessions on demand and then answers in a chosen dialect. It counts what it executes, so callers
 * can prove that nothing ran twice.
 */
export async function startDialectServer(options: DialectServerOptions = {}): Promise<DialectServer> {
  const rotation = options.rotate ?? [options.dialect ?? 'spec-404'];
  const live = new Map<string, LiveSession>();
  const counters: DialectServerCounters = {
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
  const state = { dialect: options.dialect ?? rotation[0] ?? 'spec-404' };
  const faults: DialectServerFaults = {};
  let callsSinceDrop = 0;

  const forgetSessions = () => {
    const sessions = [...live.values()];
    live.clear();
    for (const session of sessions) void session.transport.close().catch(() => {});
  };
  const dropSessions = () => {
    counters.drops += 1;
    forgetSessions();
  };

  const afterToolCall = () => {
    if (options.dropEvery === undefined) return;
    callsSinceDrop += 1;
    if (callsSinceDrop < options.dropEvery) return;
    callsSinceDrop = 0;
    // Drop once this answer is on its way, so the next call meets the lost session, answered in
    // the next dialect of the rotation.
    setImmediate(() => {
      state.dialect = rotation[counters.drops % rotation.length] ?? state.dialect;
      dropSessions();
    });
  };

  const createMcpServer = (session: () => LiveSession | undefined): Server => {
    const server = new Server(
      { name: 'mcp-lifeline-dialect-server', version: '1.0.0' },
      { capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      counters.toolCalls += 1;
      try {
        return await callTool(server, request.params.name, request.params.arguments ?? {}, extra.signal);
      } finally {
        afterToolCall();
      }
    });
    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: [{ uri: COUNTER_URI, name: 'counter', mimeType: 'text/plain' }],
    }));
    server.setRequestHandler(ReadResourceRequestSchema, (request) => ({
      contents: [{ uri: request.params.uri, mimeType: 'text/plain', text: String(counters.executions) }],
    }));
    server.setRequestHandler(SubscribeRequestSchema, (request) => {
      session()?.subscriptions.add(request.params.uri);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      session()?.subscriptions.delete(request.params.uri);
      return {};
    });
    server.setRequestHandler(SetLevelRequestSchema, (request) => {
      const current = session();
      if (current !== undefined) current.logLevel = request.params.level;
      return {};
    });
    return server;
  };

  const callTool = async (server: Server, name: string, args: Record<string, unknown>, signal: AbortSignal) => {
    const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
    switch (name) {
      case 'increment':
        execute(args);
        return text(String(counters.executions));
      case 'fail':
        execute(args);
        if (args['asResult'] === true) return { isError: true, content: [{ type: 'text' as const, text: String(args['message']) }] };
        throw new McpError(Number(args['code'] ?? -32603), String(args['message']));
      case 'echo':
        return text(String(args['text'] ?? ''));
      case 'slow':
        await delay(Number(args['ms'] ?? 0), signal);
        return text('done');
      case 'payload':
        return text('x'.repeat(Math.max(0, Number(args['bytes'] ?? 0))));
      case 'ask_client': {
        const answer = await server.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: String(args['prompt'] ?? 'hello') } }],
          maxTokens: 10,
        });
        return text(answer.content.type === 'text' ? answer.content.text : answer.content.type);
      }
      default:
        return { isError: true, content: [{ type: 'text' as const, text: `unknown tool ${name}` }] };
    }
  };

  const execute = (args: Record<string, unknown>) => {
    counters.executions += 1;
    const key = typeof args['key'] === 'string' ? args['key'] : undefined;
    if (key !== undefined) counters.executionsByKey.set(key, (counters.executionsByKey.get(key) ?? 0) + 1);
    options.onExecuted?.(key);
  };

  const answerLost = (req: IncomingMessage, res: ServerResponse, requestId: unknown) => {
    counters.lostAnswers += 1;
    const answer = DIALECTS[state.dialect](requestId);
    const body = faults.echoHeaders
      ? answer.body.replace('Session not found', `Session not found (request headers: ${quoteHeaders(req)})`)
      : answer.body;
    res.writeHead(answer.status, { 'content-type': answer.contentType }).end(body, () => faults.afterLostAnswer?.());
  };

  const openSession = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    if (faults.initializeDelayMs !== undefined) await delay(faults.initializeDelayMs, AbortSignal.timeout(60_000));
    if (faults.initializeStatus !== undefined) {
      const quoted = faults.echoHeaders ? `; you sent ${quoteHeaders(req)}` : '';
      res
        .writeHead(faults.initializeStatus, { 'content-type': 'text/plain' })
        .end(`initialize refused (${faults.initializeStatus})${quoted}`);
      return;
    }
    let current: LiveSession | undefined;
    const server = createMcpServer(() => current);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: options.jsonResponse ?? false,
      onsessioninitialized: (id) => {
        counters.initializations += 1;
        current = { transport, server, lastSeen: Date.now(), logLevel: undefined, subscriptions: new Set() };
        live.set(id, current);
      },
    });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && live.get(id)?.transport === transport) live.delete(id);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const handleStateless = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    const server = createMcpServer(() => undefined);
    // No sessionIdGenerator: the SDK's stateless mode.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: options.jsonResponse ?? false });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    if (isInitialize(body)) counters.initializations += 1;
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    counters.httpRequests[method] = (counters.httpRequests[method] ?? 0) + 1;
    const body = method === 'POST' ? await readJson(req) : undefined;
    for (const message of Array.isArray(body) ? body : [body]) {
      const rpcMethod = (message as { method?: unknown } | undefined)?.method;
      if (typeof rpcMethod === 'string') counters.rpcMethods[rpcMethod] = (counters.rpcMethods[rpcMethod] ?? 0) + 1;
    }
    options.onRequest?.(req, body);
    const redirect = faults.redirect;
    if (redirect !== undefined && (redirect.httpMethods?.includes(method) || redirect.rpcMethods?.includes(rpcMethodOf(body) ?? ''))) {
      if (redirect.count !== undefined && --redirect.count <= 0) faults.redirect = undefined;
      res.writeHead(redirect.status ?? 307, { location: redirect.location }).end();
      return;
    }
    if (faults.failPing !== undefined && rpcMethodOf(body) === 'ping') {
      res.writeHead(faults.failPing, { 'content-type': 'text/plain' }).end('ping failed');
      return;
    }
    if (faults.delayMs !== undefined && faults.delayMs > 0) await delay(faults.delayMs, AbortSignal.timeout(60_000));
    if (body === INVALID_JSON) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    if (options.stateless) return handleStateless(req, res, body);
    if (method === 'GET' && options.noEventStream) {
      res.writeHead(405, { allow: 'POST, DELETE' }).end();
      return;
    }
    if (method === 'GET' && faults.refuseGet !== undefined) {
      res.writeHead(faults.refuseGet, { 'content-type': 'text/plain' }).end('no event stream for you');
      return;
    }
    if (method === 'GET' && faults.getOpensWithSessionError) {
      const error = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } });
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${error}\n\n`);
      return;
    }

    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined && isInitialize(body)) return openSession(req, res, body);
    const session = sessionId === undefined ? undefined : live.get(sessionId);
    if (session !== undefined && options.idleTimeoutMs !== undefined && Date.now() - session.lastSeen > options.idleTimeoutMs) {
      live.delete(sessionId as string);
      void session.transport.close();
      return answerLost(req, res, requestIdOf(body));
    }
    if (session === undefined) return answerLost(req, res, requestIdOf(body));
    if (faults.rejectSessions !== undefined && method !== 'DELETE') {
      if (faults.rejectSessions === 'requests' && requestIdOf(body) === undefined && method === 'POST') {
        res.writeHead(202).end();
        return;
      }
      return answerLost(req, res, requestIdOf(body));
    }
    session.lastSeen = Date.now();
    if (method === 'DELETE') counters.deletes += 1;
    if (faults.endWithoutAnswer && isToolCall(body)) {
      execute(argumentsOf(body));
      const note = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } });
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${note}\n\n`);
      return;
    }
    if (isToolCall(body) && toolNameOf(body) === 'fail' && typeof argumentsOf(body)['status'] === 'number') {
      execute(argumentsOf(body));
      return answerFailure(res, argumentsOf(body));
    }
    if (faults.cutNextToolCall && isToolCall(body)) {
      faults.cutNextToolCall = false;
      loseAnswer(req, res);
    }
    if (faults.sabotage !== undefined && faults.sabotage.count > 0 && isToolCall(body)) {
      faults.sabotage.count -= 1;
      const key = (body as { params?: { arguments?: { key?: unknown } } }).params?.arguments?.key;
      counters.sabotaged.push(typeof key === 'string' ? key : '');
      return answerBroken(req, res, faults.sabotage.kind, requestIdOf(body));
    }
    await session.transport.handleRequest(req, res, body);
  };

  // Requests other than the long-lived GET stream, so a drain can wait for them to finish.
  let accepting = true;
  let inFlight = 0;
  const http: HttpServer = createServer((req, res) => {
    if (!accepting) {
      req.socket.destroy(); // never read, never run
      return;
    }
    if (req.method !== 'GET') {
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
      });
    }
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  await listen(options.port ?? 0);
  const { port } = http.address() as AddressInfo;

  const quiesce = async (limitMs: number) => {
    accepting = false;
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    const deadline = Date.now() + limitMs;
    while (inFlight > 0 && Date.now() < deadline) await delay(10, AbortSignal.timeout(1000));
    http.closeAllConnections();
    await closed;
  };

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    counters,
    get dialect() {
      return state.dialect;
    },
    set dialect(value: Dialect) {
      state.dialect = value;
    },
    sessions: () =>
      [...live.entries()].map(([id, session]) => ({ id, logLevel: session.logLevel, subscriptions: [...session.subscriptions] })),
    dropSessions,
    faults,
    async notifySubscribers() {
      let sent = 0;
      for (const session of live.values()) {
        for (const uri of session.subscriptions) {
          await session.server.sendResourceUpdated({ uri });
          sent += 1;
        }
      }
      return sent;
    },
    async suspend(ms) {
      await quiesce(2000);
      await delay(ms, AbortSignal.timeout(ms + 60_000));
      accepting = true;
      await listen(port);
    },
    async drain(limitMs) {
      await quiesce(limitMs);
      forgetSessions();
    },
    async close() {
      forgetSessions();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

const INVALID_JSON = Symbol('invalid JSON');

/** A broken answer to a tool call that never ran: what a flaky proxy or a crashing server sends. */
function answerBroken(req: IncomingMessage, res: ServerResponse, kind: Sabotage, id: unknown): void {
  const answer = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'never ran' }] } });
  switch (kind) {
    case 'malformed-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer.slice(0, answer.length - 7));
      return;
    case 'truncated-json':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
      res.write(answer.slice(0, 20), () => req.socket.destroy());
      return;
    case 'cut-sse':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: message\ndata: ${answer.slice(0, 25)}`, () => req.socket.destroy());
      return;
  }
}

/** A tool that ran and failed at the HTTP level: `{"detail": message}` with its status, as JSON or as one SSE event. */
function answerFailure(res: ServerResponse, args: Record<string, unknown>): void {
  const body = JSON.stringify({ detail: String(args['message']) });
  if (args['sse'] === true) {
    res.writeHead(Number(args['status']), { 'content-type': 'text/event-stream' }).end(`data: ${body}\n\n`);
    return;
  }
  res.writeHead(Number(args['status']), { 'content-type': 'application/json' }).end(body);
}

/** The request's headers as a server that quotes them in an error would (issue 9: secrets echoed back). */
function quoteHeaders(req: IncomingMessage): string {
  return JSON.stringify(req.headers);
}

/** Lets the request run, then destroys the connection instead of sending its answer. */
function loseAnswer(req: IncomingMessage, res: ServerResponse): void {
  const cut = () => {
    req.socket.destroy();
    return res;
  };
  res.writeHead = cut as typeof res.writeHead;
  res.write = (() => true) as typeof res.write;
  res.end = cut as typeof res.end;
}

function rpcMethodOf(body: unknown): string | undefined {
  const message = Array.isArray(body) ? body[0] : body;
  const method = typeof message === 'object' && message !== null ? (message as { method?: unknown }).method : undefined;
  return typeof method === 'string' ? method : undefined;
}

function toolNameOf(body: unknown): unknown {
  return (body as { params?: { name?: unknown } }).params?.name;
}

function argumentsOf(body: unknown): Record<string, unknown> {
  return (body as { params?: { arguments?: Record<string, unknown> } }).params?.arguments ?? {};
}

function isToolCall(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'tools/call';
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return INVALID_JSON;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some(
    (message) => typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'initialize',
  );
}

function requestIdOf(body: unknown): unknown {
  const message = Array.isArray(body) ? body[0] : body;
  return typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
}

/** A wait of the server's own (a slow tool, a suspension): ends with the signal's reason when it aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, { signal, onAbort: 'reject' });
}
