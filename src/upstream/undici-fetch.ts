import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { type HeaderFields, WatchedResponse } from '../recovery/watched-response.js';
import { globalDispatcher } from './global-dispatcher.js';

// Only undici's request() API, dispatched on the undici Agent Node's own fetch installs (the one
// the fetch globals use anyway): the whole package adds about 10 MB of resident memory to a
// bridge that talks to one server for hours, its request() API 0.4 MB. undici has no `exports`
// map; its version is pinned by package.json and every exchange of the test suite goes through here.
const requestApi = createRequire(import.meta.url)('undici/lib/api/api-request.js') as (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData>;

/** Statuses whose responses have no body (Fetch standard: null body status). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for talking to one MCP server many times: undici's `request()` (the Dispatcher API,
 * keep-alive connections) under a standard `Response`, so the recovery middleware and every
 * upstream work on it unchanged. Node 20's bundled `fetch` spends most of a call in its own
 * machinery (Request objects, spec-mandated stream plumbing): measured on loopback here, about
 * 0.6 ms of CPU per SSE call against 0.25 ms for this. It does what an MCP exchange needs and no
 * more: no redirects followed (the caller handles them, same-origin only), no compression asked
 * for, no cookies, no CORS. Node only; the library entry never imports it.
 */
export function createUndiciFetch(dispatcher: Dispatcher = globalDispatcher()): FetchLike {
  // The last URL's origin and path (a client talks to one endpoint; parsing a URL costs µs a call).
  let last: { readonly href: string; readonly origin: string; readonly path: string } = { href: '', origin: '', path: '' };
  return async function undiciFetch(input, init = {}) {
    const href = typeof input === 'string' ? input : input.href;
    if (href !== last.href) {
      const url = new URL(href);
      last = { href, origin: url.origin, path: `${url.pathname}${url.search}` };
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const signal = init.signal ?? undefined;
    let answer: Dispatcher.ResponseData;
    try {
      answer = await requestApi.call(dispatcher, {
        origin: last.origin,
        path: last.path,
        method: method as Dispatcher.HttpMethod,
        headers: plainHeaders(init.headers),
        body: bodyOf(init.body),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      // Like fetch: an aborted request rejects with the signal's reason (a TimeoutError for AbortSignal.timeout).
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    const headers = headersInit(answer.headers);
    // A declared empty body too (a 202 to a notification, most answers to DELETE): read to its end
    // here, so that a caller discarding it does not abort an exchange that is already over (which
    // costs an error and its stack trace).
    const empty = NULL_BODY.has(answer.statusCode) || method === 'HEAD' || answer.headers['content-length'] === '0';
    if (empty) {
      answer.body.resume();
      return new Response(null, { status: answer.statusCode, headers });
    }
    return lazyBodyResponse(answer, headers, signal);
  };
}

/**
 * A `Response` whose body stays undici's until it is read: text() and arrayBuffer() read it
 * straight (what the SDKs, the gateway and the bridge do with a JSON answer), and a web stream is
 * built only when `body` is asked for (an SSE answer). A `Response` constructed with a stream
 * body costs a web stream and its machinery per answer (about a tenth of a call's CPU on loopback).
 */
function lazyBodyResponse(answer: Dispatcher.ResponseData, headers: HeaderFields, signal: AbortSignal | undefined): Response {
  const body = answer.body;
  let stream: ReadableStream<Uint8Array> | undefined;
  // Like fetch: a read that fails because the request was aborted rejects with the signal's reason.
  const failed = (error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  };
  return new WatchedResponse(
    { status: answer.statusCode, statusText: '', headers },
    {
      stream: () => {
        stream ??= webStream(body, signal);
        return stream;
      },
      text: () => body.text().catch(failed),
      bytes: () => body.arrayBuffer().then((buffer) => new Uint8Array(buffer), failed),
    },
  );
}

/** The body as a web stream pulled straight from undici's: one read per pull, no extra buffering. */
function webStream(body: Dispatcher.ResponseData['body'], signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const chunks = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else {
          const chunk = next.value as Buffer;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        }
      } catch (error) {
        controller.error(signal?.aborted ? signal.reason : error);
      }
    },
    cancel(reason) {
      // Cancelled before the first read (a body discarded unread): nothing listens for the abort error yet.
      body.on('error', () => {});
      body.destroy(reason instanceof Error ? reason : undefined);
    },
  });
}

/** undici's answer headers as the `Response` takes them: the plain object itself, unless a header came more than once. */
function headersInit(raw: Dispatcher.ResponseData['headers']): HeaderFields {
  let plain = true;
  for (const name in raw) if (typeof raw[name] !== 'string') plain = false;
  if (plain) return raw as Record<string, string>;
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (headers instanceof Headers || Array.isArray(headers)) return Object.fromEntries(headers as Iterable<[string, string]>);
  return headers as Record<string, string>;
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('mcp-lifeline: only string and byte bodies can be sent to an MCP server');
}
