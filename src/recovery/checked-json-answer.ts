// A JSON answer a fetch gave, checked as the client reads it without a Response of our own: the
// answer itself goes to the client, its prototype swapped for one whose readers check the body.
// Building a Response (its headers, its state) and reading through it cost about 10 µs of a
// 350 µs loopback call on Node 20 (issue 21: the middleware at ≤ 1.02× a plain client).
import { prototypeMethod } from './prototype-method.js';

/** What the client is to read instead of `text`: `text` itself, or (a promise of) another answer's text. */
export type JsonTextDecision = (text: string) => string | Promise<string>;

/** Stands in for `body` when it is handed out: a stream that reads the checked body. */
export type CheckedStream = (body: ReadableStream<Uint8Array>, decide: JsonTextDecision) => void;

const CHECK = Symbol('mcp-lifeline: JSON check');

/** What a checked answer (and each clone of it) knows: how to decide, once for all of its copies. */
class JsonCheck {
  /** This copy's stream reads the checked body already (its `body` was handed out): its text is not decided again. */
  streamChecked = false;
  private readonly decision: JsonTextDecision;
  private readonly checkStream: CheckedStream;
  private decided: string | Promise<string> | undefined;
  private readonly root: JsonCheck | undefined;

  constructor(decision: JsonTextDecision, checkStream: CheckedStream, root?: JsonCheck) {
    this.decision = decision;
    this.checkStream = checkStream;
    this.root = root;
  }

  /** The text to deliver for `text`: decided once, whichever copy is read first. */
  decide(text: string): string | Promise<string> {
    if (this.root !== undefined) return this.root.decide(text);
    this.decided ??= this.decision(text);
    return this.decided;
  }

  /** The body is handed out: its readers read the checked stream from now on. */
  handOut(body: ReadableStream<Uint8Array>): void {
    this.streamChecked = true;
    this.checkStream(body, (text) => this.decide(text));
  }

  /** The check of a clone, which reads what this copy reads (`Response.clone` tees the stream as it is). */
  copy(): JsonCheck {
    const copy = new JsonCheck(this.decision, this.checkStream, this.root ?? this);
    copy.streamChecked = this.streamChecked;
    return copy;
  }
}

type Checked = Response & { [CHECK]: JsonCheck };

/**
 * `response` itself, its body checked when the client reads it: `decide` gives the text to deliver
 * (once per answer, however many clones read it); `checkStream` makes `body` read the checked
 * body, for clients that read it as a stream.
 */
export function checkedJsonAnswer(response: Response, decide: JsonTextDecision, checkStream: CheckedStream): Response {
  const checked = response as Checked;
  checked[CHECK] = new JsonCheck(decide, checkStream);
  Object.setPrototypeOf(checked, CHECKED_JSON);
  return checked;
}

const native = Response.prototype;
const nativeBody = Object.getOwnPropertyDescriptor(native, 'body')?.get as (this: Response) => ReadableStream<Uint8Array> | null;
const encoder = new TextEncoder();

/** The body as the client is to read it: the checked text, or the stream's text when the stream is checked already. */
function checkedText(response: Checked): Promise<string> {
  const check = response[CHECK];
  const text = native.text.call(response);
  return check.streamChecked ? text : text.then((body) => check.decide(body));
}

function checkedBytes(response: Checked): Promise<Uint8Array> {
  return checkedText(response).then((text) => encoder.encode(text));
}

/** The prototype of a checked answer: a `Response`'s, with its body readers checking what they read. */
const CHECKED_JSON: Response = Object.create(native, {
  text: prototypeMethod(function text(this: Checked) {
    return checkedText(this);
  }),
  json: prototypeMethod(function json(this: Checked) {
    const check = this[CHECK];
    return native.text.call(this).then((body) => {
      if (check.streamChecked) return JSON.parse(body);
      const decided = check.decide(body);
      return typeof decided === 'string' ? JSON.parse(decided) : decided.then((text) => JSON.parse(text));
    });
  }),
  arrayBuffer: prototypeMethod(function arrayBuffer(this: Checked) {
    return checkedBytes(this).then((bytes) => bytes.buffer);
  }),
  bytes: prototypeMethod(function bytes(this: Checked) {
    return checkedBytes(this);
  }),
  blob: prototypeMethod(function blob(this: Checked) {
    return checkedBytes(this).then((bytes) => new Blob([bytes], { type: this.headers.get('content-type') ?? '' }));
  }),
  body: {
    get(this: Checked) {
      const body = nativeBody.call(this);
      const check = this[CHECK];
      if (body !== null && !check.streamChecked) check.handOut(body);
      return body;
    },
    configurable: true,
  },
  clone: prototypeMethod(function clone(this: Checked) {
    const copy = native.clone.call(this) as Checked;
    copy[CHECK] = this[CHECK].copy();
    Object.setPrototypeOf(copy, CHECKED_JSON);
    return copy;
  }),
});
