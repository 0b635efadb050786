import type { ChunkReader } from '../shared/chunk-reader.js';

/** Headers as `Response` takes them (the DOM's `HeadersInit`). */
export type HeaderFields = NonNullable<RequestInit['headers']>;

/** How a {@linkcode WatchedResponse} reads its body. */
export interface WatchedBody {
  /** The body as a stream, built on first use; the same object each time. */
  readonly stream: () => ReadableStream<Uint8Array> | null;
  /** The whole body as text, read once. */
  readonly text: () => Promise<string>;
  /** The whole body as bytes, read once, when it may not be text; otherwise the text's UTF-8 bytes. */
  readonly bytes?: () => Promise<Uint8Array>;
  /** The body chunk by chunk without a web stream, when its source can (see {@linkcode WatchedResponse.readerOf}); once. */
  readonly reader?: (() => ChunkReader) | undefined;
}

/** The status line and headers a {@linkcode WatchedResponse} answers with: another `Response`'s, or an HTTP client's. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderFields;
}

const encoder = new TextEncoder();

/**
 * The server's answer, with its body read through the middleware: same status, status text and
 * headers, and a body that `stream` and `text` supply; a `Response` with a stream body would cost
 * a new stream, this one none. For an answer whose headers change (the client's session id shown)
 * and for the answers of the HTTP clients the gateway and the bridge read straight. A fetch answer
 * shown as it came is not wrapped: its prototype is swapped for one that reads through the
 * middleware (checked-json-answer.ts, watched-sse-body.ts) and one slot added: 1–4 µs of a
 * 350 µs loopback call on Node 20, against 11–13 µs for building and reading through one of these
 * (issue 21).
 */
export class WatchedResponse extends Response {
  #read: WatchedBody;
  #text: Promise<string> | undefined;
  #bytes: Promise<Uint8Array> | undefined;
  // Whether `body` was asked for: until then no stream exists, so none is locked (and none is made to say so).
  #streamAsked = false;
  // Whether the body was handed out chunk by chunk (readerOf), which uses it up.
  #readerTaken = false;
  // The server's `Headers`, shown as they are (read-only) until a header must change: copying them
  // into a `Response` of its own costs more than the rest of building it (each is checked and sorted).
  #borrowed: Headers | undefined;

  /** `headers`, when given, replace the head's (a copy with a header changed). */
  constructor(head: ResponseHead, read: WatchedBody, headers: HeaderFields | undefined = head.headers) {
    const fields = headers ?? head.headers;
    const borrowed = fields instanceof Headers ? fields : undefined;
    const { status, statusText } = head;
    super(null, borrowed === undefined ? { status, statusText, headers: fields } : { status, statusText });
    this.#borrowed = borrowed;
    this.#read = read;
  }

  /**
   * `response` with its body read through `wrap(how it is read now)`, and `sessionId` shown in
   * place of the server's when given. A `WatchedResponse` not read yet is changed in place, not
   * wrapped again: a `Response` costs several µs to build (its headers are copied and checked),
   * and an answer passes through several watchers (the HTTP client's, the session id's, the
   * session error check).
   */
  static rewatch(response: Response, wrap: (inner: WatchedBody) => WatchedBody, sessionId?: string): Response {
    if (response instanceof WatchedResponse && response.#unread()) {
      response.#read = wrap(response.#read);
      if (sessionId !== undefined) response.#ownHeaders().set('mcp-session-id', sessionId);
      return response;
    }
    let headers = response.headers;
    if (sessionId !== undefined) {
      headers = new Headers(response.headers);
      headers.set('mcp-session-id', sessionId);
    }
    return new WatchedResponse(response, wrap(readOf(response)), headers);
  }

  /** `response` as the client is shown it: itself, or with `sessionId` in place of the server's session id. */
  static showing(response: Response, sessionId: string | undefined): Response {
    return sessionId === undefined ? response : WatchedResponse.rewatch(response, sameRead, sessionId);
  }

  /**
   * The body of `response` chunk by chunk: straight from the HTTP client when the response is one
   * of these and its source can (no web stream: on Node 20 each outlives the young generation, see
   * ChunkReader), else through `body`'s reader. Null when it has no body. It uses the body up.
   */
  static readerOf(response: Response): ChunkReader | null {
    if (response instanceof WatchedResponse && response.#unread()) {
      const reader = response.#read.reader;
      if (reader !== undefined) {
        response.#readerTaken = true;
        return reader();
      }
    }
    return response.body?.getReader() ?? null;
  }

  /** Whether its body was not asked for yet, in any way. */
  #unread(): boolean {
    return this.#text === undefined && this.#bytes === undefined && !this.#streamAsked && !this.#readerTaken;
  }

  /** Its headers, as a copy of its own once borrowed ones must change. */
  #ownHeaders(): Headers {
    const borrowed = this.#borrowed;
    if (borrowed === undefined) return this.headers;
    this.#borrowed = undefined;
    const own = ownHeadersOf(this);
    for (const [name, value] of borrowed) own.append(name, value);
    return own;
  }

  static {
    // Defined on the prototype (once): the DOM typings declare these as properties of Response,
    // which a class body may not override with methods or accessors.
    const text = (response: WatchedResponse) => {
      if (response.#readerTaken) return Promise.reject(usedUp());
      response.#text ??= response.#read.text();
      return response.#text;
    };
    const bytes = (response: WatchedResponse): Promise<Uint8Array> => {
      if (response.#readerTaken) return Promise.reject(usedUp());
      const read = response.#read.bytes;
      if (read === undefined || response.#text !== undefined) return text(response).then((body) => encoder.encode(body));
      response.#bytes ??= read();
      return response.#bytes;
    };
    Object.defineProperties(WatchedResponse.prototype, {
      headers: {
        get(this: WatchedResponse) {
          return this.#borrowed ?? ownHeadersOf(this);
        },
      },
      body: {
        get(this: WatchedResponse) {
          if (this.#readerTaken) return null;
          this.#streamAsked = true;
          return this.#read.stream();
        },
      },
      bodyUsed: {
        get(this: WatchedResponse) {
          return (
            this.#readerTaken ||
            this.#text !== undefined ||
            this.#bytes !== undefined ||
            (this.#streamAsked && this.#read.stream()?.locked === true)
          );
        },
      },
      text: {
        value: function (this: WatchedResponse) {
          return text(this);
        },
      },
      json: {
        value: async function (this: WatchedResponse) {
          return JSON.parse(await text(this));
        },
      },
      arrayBuffer: {
        value: async function (this: WatchedResponse) {
          const body = await bytes(this);
          return body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body.buffer : body.slice().buffer;
        },
      },
      bytes: {
        value: function (this: WatchedResponse) {
          return bytes(this);
        },
      },
      blob: {
        value: async function (this: WatchedResponse) {
          return new Blob([await bytes(this)], { type: this.headers.get('content-type') ?? '' });
        },
      },
      formData: {
        value: async () => {
          throw new TypeError('an MCP answer is JSON or an event stream, not form data');
        },
      },
      // Both copies read the same watched text (an MCP answer is small, or an event stream read once).
      clone: {
        value(this: WatchedResponse) {
          if (!this.#unread()) throw new TypeError('Response.clone: Body has already been consumed.');
          // Read once, by whichever copy is read first (how it reads now, not through the copies: that would loop).
          const inner = this.#read;
          let once: Promise<string> | undefined;
          const whole = () => {
            once ??= inner.text();
            return once;
          };
          let mine: ReadableStream<Uint8Array> | undefined;
          let theirs: ReadableStream<Uint8Array> | undefined;
          this.#read = { text: whole, stream: () => (mine ??= streamOf(whole())) };
          // Headers of its own, as a clone of a `Response` has.
          return new WatchedResponse(this, { text: whole, stream: () => (theirs ??= streamOf(whole())) }, new Headers(this.headers));
        },
      },
    });
  }
}

const sameRead = (inner: WatchedBody): WatchedBody => inner;

/** What reading a body twice gets, as from `Response`. */
function usedUp(): TypeError {
  return new TypeError('Body is unusable: Body has already been read');
}

// Response's own `headers` getter, which a WatchedResponse's shadows while its headers are borrowed.
const responseHeaders = Object.getOwnPropertyDescriptor(Response.prototype, 'headers')?.get as (this: Response) => Headers;

function ownHeadersOf(response: Response): Headers {
  return responseHeaders.call(response);
}

/** How a plain `Response`'s body is read, as a {@linkcode WatchedBody}. */
function readOf(response: Response): WatchedBody {
  return { stream: () => response.body, text: () => response.text(), bytes: async () => new Uint8Array(await response.arrayBuffer()) };
}

function streamOf(text: Promise<string>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(encoder.encode(await text));
      controller.close();
    },
  });
}

/** Reads a body to its end as UTF-8 text. */
export async function readAllText(reader: ChunkReader): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}
