/** How a {@linkcode WatchedResponse} reads its body. */
export interface WatchedBody {
  /** The body as a stream, built on first use; the same object each time. */
  readonly stream: () => ReadableStream<Uint8Array> | null;
  /** The whole body as text, read once. */
  readonly text: () => Promise<string>;
}

const encoder = new TextEncoder();

/**
 * The server's answer, with its body read through the middleware: same status, status text and
 * headers, and a body that `stream` and `text` supply. A subclass rather than changes to the
 * server's own `Response`: adding properties to a platform object changes its shape, and every
 * later use of every `Response` in the process pays for it (measured at 2–5 % of a loopback call,
 * issue 8 part 2); a `Response` with a stream body costs a new stream, this one none.
 */
export class WatchedResponse extends Response {
  #read: WatchedBody;
  #text: Promise<string> | undefined;

  constructor(original: Response, read: WatchedBody) {
    super(null, { status: original.status, statusText: original.statusText, headers: original.headers });
    this.#read = read;
  }

  static {
    // Defined on the prototype (once): the DOM typings declare these as properties of Response,
    // which a class body may not override with methods or accessors.
    const text = (response: WatchedResponse) => {
      response.#text ??= response.#read.text();
      return response.#text;
    };
    Object.defineProperties(WatchedResponse.prototype, {
      body: {
        get(this: WatchedResponse) {
          return this.#read.stream();
        },
      },
      bodyUsed: {
        get(this: WatchedResponse) {
          return this.#text !== undefined || this.#read.stream()?.locked === true;
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
          return encoder.encode(await text(this)).buffer;
        },
      },
      bytes: {
        value: async function (this: WatchedResponse) {
          return encoder.encode(await text(this));
        },
      },
      blob: {
        value: async function (this: WatchedResponse) {
          return new Blob([await text(this)], { type: this.headers.get('content-type') ?? '' });
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
          const whole = () => text(this);
          let mine: ReadableStream<Uint8Array> | undefined;
          let theirs: ReadableStream<Uint8Array> | undefined;
          this.#read = { text: whole, stream: () => (mine ??= streamOf(whole())) };
          return new WatchedResponse(this, { text: whole, stream: () => (theirs ??= streamOf(whole())) });
        },
      },
    });
  }
}

function streamOf(text: Promise<string>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(encoder.encode(await text));
      controller.close();
    },
  });
}

/** Reads a stream to its end as UTF-8 text. */
export async function readAllText(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}
