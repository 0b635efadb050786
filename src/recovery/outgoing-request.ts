import { type JsonRpcSummary, summarizeJsonRpc } from '../shared/json-rpc.js';

/** What `fetch` accepts as its first argument. */
export type FetchInput = string | URL | Request;

/** The shape of `fetch` the MCP SDKs take (v1 and v2 `FetchLike`). `typeof fetch` fits it too. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch middleware. Generic, so it returns the type it is given: `typeof fetch` for `fetch`, the
 * SDK's `FetchLike` inside the SDKs' `applyMiddlewares` (where the last middleware is outermost).
 */
export type Middleware = <F extends FetchLike>(next: F) => F;

/** Any fetch, as the middleware calls it: a `Request` input is passed on when the caller gave one. */
export type AnyFetch = (input: FetchInput, init?: RequestInit) => Promise<Response>;

/** A fetch body, as `RequestInit` types it (the DOM's `BodyInit`). */
export type RequestBody = RequestInit['body'];
type HeadersLike = NonNullable<RequestInit['headers']>;

/** Reads one header from what a fetch caller passed, without copying the headers. */
export function headerOf(input: FetchInput, init: RequestInit | undefined, name: string): string | null {
  // As in fetch itself, headers given in init replace the Request's headers entirely.
  const headers = init?.headers;
  if (headers !== undefined && headers !== null) return readHeader(headers, name);
  if (typeof input === 'object' && 'headers' in input) return input.headers.get(name);
  return null;
}

/**
 * A plain copy of what a fetch caller passed as headers, names in lower case (as `Headers` has
 * them): cheaper to change and to read again than a `Headers`, whose every read is a sorted copy.
 */
export function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined || headers === null) return out;
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    // Like Headers.append: a repeated name holds the values joined.
    out[key] = out[key] === undefined ? value : `${out[key]}, ${value}`;
  };
  if (typeof (headers as Headers).forEach === 'function' && !Array.isArray(headers)) {
    (headers as Headers).forEach((value, name) => {
      add(name, value);
    });
  } else if (Array.isArray(headers)) for (const [name, value] of headers) add(name as string, value as string);
  else for (const name of Object.keys(headers)) add(name, (headers as Record<string, string>)[name] as string);
  return out;
}

function readHeader(headers: HeadersLike, name: string): string | null {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  if (Array.isArray(headers)) {
    for (const [key, value] of headers) if (key?.toLowerCase() === name) return value ?? null;
    return null;
  }
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return (headers as Record<string, string>)[key] ?? null;
  }
  return null;
}

/** A request on its way to an MCP endpoint, with everything needed to send it again. */
export interface OutgoingRequest {
  readonly url: string;
  readonly method: string;
  /** The caller's init, with a `Request` input's fields folded in. */
  readonly init: RequestInit;
  /** What to pass to `next` as the first argument when the request goes out untouched. */
  readonly input: FetchInput;
  /** The body, if it can be sent twice (strings, bytes, blobs, forms); undefined otherwise. */
  readonly body: RequestBody;
  /** False for stream bodies, which fetch consumes. */
  readonly replayable: boolean;
  readonly signal: AbortSignal | undefined;
  /** The caller's headers, copied on first use. */
  headers(): Headers;
  /** The JSON-RPC message(s) in the body, parsed on first use. */
  messages(): JsonRpcSummary;
}

/** Whether fetch's first argument is a `Request` (whose body must be read to be sent twice). */
export function isRequestInput(input: FetchInput): input is Request {
  return typeof input === 'object' && 'headers' in input && typeof (input as Request).arrayBuffer === 'function';
}

/** Turns fetch's (url, init) arguments into an {@linkcode OutgoingRequest}, without copying. */
export function toOutgoingRequest(input: string | URL, init: RequestInit | undefined): OutgoingRequest {
  const url = typeof input === 'string' ? input : input.href;
  return describe(url, input, init ?? {});
}

/** The same for a `Request` input: its body is read into bytes so it can be sent twice. */
export async function fromRequestInput(request: Request, init: RequestInit | undefined): Promise<OutgoingRequest> {
  {
    const body = init?.body !== undefined ? init.body : request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const merged: RequestInit = {
      method: request.method,
      headers: request.headers,
      redirect: request.redirect,
      signal: request.signal,
      credentials: request.credentials,
      ...init,
      body: body ?? null,
    };
    return describe(request.url, request.url, merged);
  }
}

function describe(url: string, input: FetchInput, init: RequestInit): OutgoingRequest {
  let headers: Headers | undefined;
  let summary: JsonRpcSummary | undefined;
  const body = init.body;
  return {
    url,
    input,
    init,
    method: (init.method ?? 'GET').toUpperCase(),
    body,
    replayable: isReplayableBody(body),
    signal: init.signal ?? undefined,
    headers() {
      headers ??= new Headers(init.headers ?? undefined);
      return headers;
    },
    messages() {
      summary ??= summarizeJsonRpc(bodyText(body));
      return summary;
    },
  };
}

/** Whether fetch can send `body` twice (strings, bytes, blobs, forms; not streams). */
export function isReplayableBody(body: RequestBody): boolean {
  if (body === undefined || body === null || typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof Blob || body instanceof URLSearchParams || body instanceof FormData) return true;
  return false; // ReadableStream, async iterables: fetch consumes them
}

const decoder = new TextDecoder();

/** The body as text when it is a string or bytes (what MCP clients send); undefined otherwise. */
export function bodyText(body: RequestBody): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return decoder.decode(body);
  if (ArrayBuffer.isView(body)) return decoder.decode(body as Uint8Array);
  return undefined;
}

/** Byte-ish length of a body, for cheap size checks; Infinity when unknown. */
export function bodyLength(body: RequestBody): number {
  if (body === undefined || body === null) return 0;
  if (typeof body === 'string') return body.length;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return Number.POSITIVE_INFINITY;
}
