import type { ClientRequest, Agent as HttpAgentType, IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { HeaderFields } from '../recovery/watched-response.js';
import { arrivedBody } from '../shared/arrived-body.js';
import { bodyOf, clientBodyResponse, headersInit, NULL_BODY, type WholeBody } from './client-body.js';
import { IncomingHeaders } from './incoming-headers.js';

// The bounds of undici's agent (Node's own fetch), kept so that a bridge behaves the same on either
// client: idle connections closed after 4 s (sooner when the server's Keep-Alive says so), 10 s to
// connect, 300 s of silence before the answer's head and between its chunks.
const KEEP_ALIVE_MS = 4_000;
const CONNECT_TIMEOUT_MS = 10_000;
const SILENCE_MS = 300_000;
/** Methods Node sends without a body by default (no `Transfer-Encoding: chunked` for them). */
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

export interface NodeHttpFetchOptions {
  /** The error a caller reads for a failure on the way to `origin` (a refused certificate in words); the error itself by default. */
  readonly failure?: (error: Error, origin: URL) => Error;
}

/** The endpoint a client talks to, parsed once. */
interface Target {
  readonly href: string;
  readonly url: URL;
  readonly send: typeof httpRequest;
  readonly protocol: string;
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  readonly agent: HttpAgentType;
  readonly pool: PoolName;
  /** The `Host` header (Node adds none when the headers are given as a list). */
  readonly host: string;
}

/**
 * One request's options, every one built in the same order: V8 then makes them all with one
 * shape. (A copy of shared options with `method` and `headers` added went through V8's slow
 * property definition on every request: about 5 % of a call through `serve`, issue 21.)
 */
function requestOptions(target: Target, method: string, headers: string[]): RequestOptions {
  const options: RequestOptions & AgentOptions = {
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    agent: target.agent,
    // Repeated answer headers joined, as `Headers.get` shows them (undici's way).
    joinDuplicateHeaders: true,
    method,
    headers,
  };
  options[POOL] = target.pool;
  return options;
}

/**
 * A `fetch` for talking to one MCP server many times over Node's own HTTP client (`node:http`,
 * keep-alive agents), under a standard `Response`. The HTTP parser is Node's, compiled in: undici's
 * is WebAssembly, and once enough answers went through it V8's optimizing compile of it takes about
 * 20 MB for a moment, and a bridge's peak memory with it. It does what an MCP exchange needs and
 * what `createUndiciFetch` does: no redirects followed (the caller handles them, same-origin only),
 * no compression asked for, no cookies, no CORS. Node only; the library entry never imports it.
 */
export function createNodeHttpFetch(options: NodeHttpFetchOptions = {}): FetchLike {
  const agents = {
    http: reusingAgent(boundedAgent(new HttpAgent(AGENT_OPTIONS), 'connect')),
    https: reusingAgent(boundedAgent(new HttpsAgent(AGENT_OPTIONS), 'secureConnect')),
  };
  // The last endpoint (a client talks to one; parsing a URL costs µs a call).
  let last: Target | undefined;
  return function nodeHttpFetch(input, init = {}) {
    const href = typeof input === 'string' ? input : input.href;
    if (last?.href !== href) {
      const url = new URL(href);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        return Promise.reject(new TypeError(`mcp-lifeline: only http:// and https:// URLs can be fetched, not ${url.protocol}`));
      last = targetOf(href, url, agents);
    }
    const target = last;
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const failed = (error: Error) => (signal?.aborted ? signal.reason : (options.failure?.(error, target.url) ?? error));
    return new Promise<Response>((resolve, reject) => {
      const method = (init.method ?? 'GET').toUpperCase();
      let request: ClientRequest;
      let body: string | Uint8Array | null;
      try {
        body = bodyOf(init.body);
        request = target.send(requestOptions(target, method, headerList(init.headers, target.host, method, body)));
      } catch (error) {
        // A body that is not text or bytes, a header Node refuses (a control character in a value): rejected, as by fetch.
        reject(error);
        return;
      }
      if (signal !== undefined) {
        const abort = () => request.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        signal.addEventListener('abort', abort, { once: true });
        request.once('close', () => signal.removeEventListener('abort', abort));
      }
      request.setTimeout(SILENCE_MS, () => {
        // A connection still being made has its own bound (boundedAgent); the agent's idle
        // timeout, which new sockets carry until they connect, is not the server's silence.
        if (request.socket?.connecting !== true) request.destroy(silence(request));
      });
      request.once('error', (error: Error) => reject(failed(withSocket(error, request))));
      request.once('response', (answer: IncomingMessage) => {
        const headers = answerHeaders(answer.headers);
        const status = answer.statusCode ?? 0;
        // A declared empty body too (a 202 to a notification, most answers to DELETE): read to its
        // end here, so that a caller discarding it does not hold the connection.
        if (NULL_BODY.has(status) || method === 'HEAD' || answer.headers['content-length'] === '0') {
          answer.resume();
          resolve(new Response(null, { status, headers }));
          return;
        }
        resolve(clientBodyResponse(answer, { status, headers }, failed, wholeBodyOf(answer, failed)));
      });
      if (body === null) request.end();
      else request.end(body);
    });
  };
}

const AGENT_OPTIONS = { keepAlive: true, timeout: KEEP_ALIVE_MS };

function targetOf(href: string, url: URL, agents: { http: HttpAgentType; https: HttpAgentType }): Target {
  const secure = url.protocol === 'https:';
  return {
    href,
    url,
    send: secure ? httpsRequest : httpRequest,
    host: url.host,
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    agent: secure ? agents.https : agents.http,
    pool: { name: undefined },
  };
}

/**
 * The request's headers as the list Node writes as it is (no per-header bookkeeping): the caller's,
 * then `Host` and the body's length unless the caller gave them.
 */
function headerList(headers: RequestInit['headers'], host: string, method: string, body: string | Uint8Array | null): string[] {
  const list: string[] = [];
  let hasHost = false;
  let hasLength = false;
  const add = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (lower === 'host') hasHost = true;
    else if (lower === 'content-length') hasLength = true;
    list.push(name, value);
  };
  if (headers instanceof Headers || Array.isArray(headers))
    for (const [name, value] of headers as Iterable<[string, string]>) add(name, value);
  else if (headers !== undefined && headers !== null)
    for (const name in headers) add(name, (headers as Record<string, string>)[name] as string);
  if (!hasHost) list.push('host', host);
  if (!hasLength && (body !== null || !BODILESS.has(method)))
    list.push('content-length', String(body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength));
  return list;
}

/** The name of a target's pool of connections in its agent, once the agent named it. */
interface PoolName {
  name: string | undefined;
}
const POOL = Symbol('mcp-lifeline: pool name');
type AgentOptions = Record<string | symbol, unknown>;

/** What of Node's `Agent` the fast way to a free connection uses (`addRequest` is not in Node's typings). */
interface AgentParts {
  addRequest(request: ClientRequest, options: AgentOptions): void;
  getName(options: AgentOptions): string;
  reuseSocket(socket: Socket, request: ClientRequest): void;
  readonly freeSockets: Record<string, Socket[] | undefined>;
  sockets: Record<string, Socket[] | undefined>;
  readonly options: { readonly timeout?: number };
  readonly scheduling: 'fifo' | 'lifo';
}

/**
 * `agent`, a request whose pool it named already handed a free connection at once. Node's own
 * `addRequest` merges the request's options and the agent's into a new object on every request (a
 * dictionary: `__proto__: null`) to name the pool from it: 3–5 % of a call's time through `serve`
 * on loopback (issue 21). A target's pool name is learned from the agent's own `getName` on its
 * first request; a request with no free connection goes the agent's own way. Left out on the fast
 * way: a new async id for the connection (async_hooks' bookkeeping; the CLI uses none).
 */
function reusingAgent(agent: HttpAgentType): HttpAgentType {
  const parts = agent as unknown as AgentParts;
  const addRequest = parts.addRequest;
  const getName = parts.getName;
  Object.assign(agent, {
    getName(this: AgentParts, options: AgentOptions): string {
      const name = getName.call(this, options);
      const pool = options[POOL] as PoolName | undefined;
      if (pool !== undefined) pool.name = name;
      return name;
    },
    addRequest(this: AgentParts, request: ClientRequest & { timeout?: number }, options: AgentOptions): void {
      const name = (options[POOL] as PoolName | undefined)?.name;
      const socket = name === undefined ? undefined : takeFree(this, name);
      if (name === undefined || socket === undefined) {
        addRequest.call(this, request, options);
        return;
      }
      // Node's own way with a free connection, without the merged options.
      this.reuseSocket(socket, request);
      request.onSocket(socket);
      const agentTimeout = this.options.timeout || 0;
      if (request.timeout !== undefined && request.timeout !== agentTimeout) socket.setTimeout(request.timeout);
      const busy = this.sockets[name];
      if (busy === undefined) this.sockets[name] = [socket];
      else busy.push(socket);
    },
  });
  return agent;
}

/** A free connection of pool `name`, taken out of it as Node's `addRequest` takes one (the closed ones dropped). */
function takeFree(agent: AgentParts, name: string): Socket | undefined {
  const free = agent.freeSockets[name];
  if (free === undefined) return undefined;
  while (free.length > 0 && free[0]?.destroyed === true) free.shift();
  const socket = agent.scheduling === 'fifo' ? free.shift() : free.pop();
  if (free.length === 0) delete agent.freeSockets[name];
  return socket;
}

/**
 * `agent`, its new connections bounded: one that is not up (`connected`: TCP, or TLS too) within
 * 10 s fails, with undici's code, which the rest reads. Each also has an error listener of its own
 * from the start, so that an error while no request holds it never ends the process.
 */
function boundedAgent(agent: HttpAgentType, connected: 'connect' | 'secureConnect'): HttpAgentType {
  const connect = (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection;
  Object.assign(agent, {
    createConnection(this: HttpAgentType, ...args: unknown[]): Socket {
      const socket = connect.apply(this, args);
      // Node 20 gives a connection its request's error listener a tick after handing it over: a
      // request ended in between (its signal aborted at once) destroys the connection with the
      // reason, an 'error' nobody listens to, which would end the process. The request itself
      // reports that error; any other listener still hears every error.
      socket.on('error', unclaimedSocketError);
      const timer = setTimeout(() => {
        socket.destroy(
          Object.assign(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`), {
            code: 'UND_ERR_CONNECT_TIMEOUT',
            syscall: 'connect',
          }),
        );
      }, CONNECT_TIMEOUT_MS);
      timer.unref();
      const done = () => clearTimeout(timer);
      socket.once(connected, done);
      socket.once('close', done);
      return socket;
    },
  });
  return agent;
}

/** An error of a connection no request holds at that moment: its request, if any, reports it. */
function unclaimedSocketError(): void {}

/** The error for a server silent too long: before its answer's head, or in its body (undici's codes). */
function silence(request: ClientRequest): Error {
  const answered = (request as ClientRequest & { res?: IncomingMessage | null }).res != null;
  return Object.assign(
    new Error(answered ? 'the server sent nothing more of its answer for 300 s' : 'the server did not answer for 300 s'),
    {
      code: answered ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT',
    },
  );
}

/** `error` with what its connection wrote (whether a reset came before the request was sent), as undici's socket errors carry it. */
function withSocket(error: Error, request: ClientRequest): Error {
  const socket = request.socket;
  if (socket === null || 'socket' in error) return error;
  return Object.assign(error, { socket: { bytesWritten: socket.bytesWritten, bytesRead: socket.bytesRead } });
}

/**
 * The answer's headers, read where Node's parser put them (it trims values and, with
 * `joinDuplicateHeaders`, joins repeated fields as `Headers.get` does); as a list when a field is
 * one (`set-cookie`).
 */
function answerHeaders(raw: IncomingMessage['headers']): HeaderFields {
  const init = headersInit(raw);
  return Array.isArray(init) ? init : new IncomingHeaders(init as Record<string, string>);
}

/** The whole body: taken at once when all of it has arrived (arrivedBody), else as it arrives. */
function wholeBodyOf(body: IncomingMessage, failed: (error: Error) => unknown): WholeBody {
  let read: Promise<Buffer> | undefined;
  const all = () => {
    if (read === undefined) {
      const whole = arrivedBody(body);
      read = whole === undefined ? answerThroughEvents(body, failed) : Promise.resolve(whole);
    }
    return read;
  };
  return {
    // UTF-8 without a byte order mark, as `Response.text()` reads it.
    text: () =>
      all().then((buffer) =>
        buffer.toString('utf8', buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0),
      ),
    bytes: () => all().then((buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)),
  };
}

/** The whole answer as it arrives, through the stream's events (no async iterator, no end-of-stream watcher). */
function answerThroughEvents(body: IncomingMessage, failed: (error: Error) => unknown): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    body.once('end', () => {
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
      // The answer outlives its read (the listeners hold this closure): the chunks, joined, go.
      chunks.length = 0;
    });
    body.once('error', (error: Error) => reject(failed(error)));
    body.once('close', () => {
      if (!body.readableEnded) reject(failed(Object.assign(new Error('the answer ended before its end'), { code: 'ECONNRESET' })));
    });
  });
}
