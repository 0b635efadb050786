import type { ServerResponse } from 'node:http';
import { LifelineError } from '../errors/LifelineError.js';
import { concatBytes } from '../shared/concat-bytes.js';
import { idOf, type JsonRpcId, messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';
import { readWholeBody } from '../shared/read-whole-body.js';
import { eventData, SseEventScanner } from '../shared/sse/sse-event-scanner.js';

/** An upstream answer (not an event stream) was larger than the gateway's message bound; nothing of it was sent. */
export class AnswerTooLargeError extends LifelineError<'ANSWER_TOO_LARGE'> {
  override name = 'AnswerTooLargeError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('ANSWER_TOO_LARGE', message, options);
  }
}

/** How one upstream answer reaches its client. */
export interface RelayOptions {
  /** Largest message passed on, in bytes: a whole answer, or one event of an SSE stream. */
  readonly maxMessageBytes: number;
  /** Removes the gateway's secrets from text the upstream wrote; undefined when there are none to remove. */
  readonly scrub: ((text: string) => string) | undefined;
  /** The client's request ids (a POST); empty for a GET stream. Asked for only when an event stream is relayed. */
  readonly requestIds: () => readonly JsonRpcId[];
  /**
   * An event over the bound was dropped from an SSE stream; returns the error message for the
   * client's requests not answered yet (a POST's stream then ends with those errors).
   */
  readonly onOversized: () => string;
  /**
   * Rewrites the JSON-RPC text of the answer (a JSON body, or one event's data) before it is
   * scrubbed: the tool filter. Returns its input when it changes nothing. @default undefined: none
   */
  readonly rewrite?: ((json: string) => string) | undefined;
}

// Statuses whose answers have no body (RFC 9110 §6.4.1).
const NULL_BODY_STATUS = new Set([204, 205, 304]);
const SSE_TYPE = /^text\/event-stream\b/i;
const TEXT_TYPE = /^(?:application\/json|text\/)/i;
// Events up to this size are parsed to see which requests they answer; larger ones are looked at
// only near their ends, where JSON-RPC serializers put `id`.
const PARSED_EVENT_CHARS = 64 * 1024;
const ID_WINDOW_CHARS = 256;

/**
 * Passes an upstream answer to the client with a bound on what it holds and without the gateway's
 * secrets (issue 16: debug pages quote the request's headers; 250 MB answers took a gateway down).
 *
 * An event stream is passed event by event as each completes, with backpressure: an event is held
 * only until its end (at most `maxMessageBytes`), so a secret split across network chunks is still
 * found, and memory does not grow with the stream. Any other answer (JSON, an error page) is one
 * message: read up to `maxMessageBytes` and sent with its length. Rejects with
 * {@linkcode AnswerTooLargeError} when such an answer is over the bound (before anything was sent);
 * other rejections are failures to read the answer. Resolves when the answer ended or the client left.
 * `headers` is the caller's fresh object: a whole answer's length is written into it (a copy with
 * one more key costs V8 a slow definition per answer, the copies' shapes being many).
 */
export async function relayAnswer(
  res: ServerResponse,
  response: Response,
  headers: Record<string, string>,
  options: RelayOptions,
): Promise<void> {
  if (SSE_TYPE.test(response.headers.get('content-type') ?? '') && response.body !== null) {
    res.writeHead(response.status, headers);
    // The client must see events as they come, not when a buffer fills.
    res.flushHeaders();
    return relayEvents(res, response.body, { ...options, requestIds: options.requestIds() });
  }
  const declared = response.headers.get('content-length');
  const textual = TEXT_TYPE.test(response.headers.get('content-type') ?? '');
  // (Not `response.body`: asking for it would build a stream for an answer read whole.)
  if (textual && declared !== null && Number(declared) <= options.maxMessageBytes && !NULL_BODY_STATUS.has(response.status)) {
    // The usual JSON answer: its length is known and within the bound (the HTTP client holds the
    // server to it). Read as text, the middleware checks it for a session error as it is read.
    const text = rewritten(await response.text(), options);
    const out = options.scrub === undefined ? text : options.scrub(text);
    headers['content-length'] = String(Buffer.byteLength(out));
    res.writeHead(response.status, headers);
    res.end(out);
    return;
  }
  const body = await readWholeBody(response, options.maxMessageBytes);
  if (body === undefined) throw new AnswerTooLargeError(`larger than the ${options.maxMessageBytes}-byte limit`);
  let bytes: Uint8Array = concatBytes(body.chunks, body.bytes);
  if ((options.scrub !== undefined || (options.rewrite !== undefined && textual)) && bytes.byteLength > 0) {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const out = scrubbed(textual ? rewritten(text, options) : text, options);
    // Unchanged: the bytes go out exactly as they came.
    if (out !== text) bytes = Buffer.from(out, 'utf8');
  }
  // 204 and 304 carry no body, and no length either (RFC 9110 §8.6).
  const bodyless = response.status === 204 || response.status === 304;
  if (!bodyless) headers['content-length'] = String(bytes.byteLength);
  res.writeHead(response.status, headers);
  res.end(bodyless ? undefined : bytes);
}

/** What the SSE relay is told: the relay's options, with the request ids read once. */
type EventRelay = Omit<RelayOptions, 'requestIds'> & { readonly requestIds: readonly JsonRpcId[] };

/** The SSE relay: complete events out, an oversized one dropped (ending a POST's stream with errors). */
async function relayEvents(res: ServerResponse, body: ReadableStream<Uint8Array>, options: EventRelay): Promise<void> {
  const completed: (string | undefined)[] = [];
  const scanner = new SseEventScanner(options.maxMessageBytes, { onEvent: (text) => completed.push(text) });
  const answered = new Set<JsonRpcId>();
  const reader = body.getReader();
  // Bytes read since the last event ended: a lower bound of the size of the event in progress.
  let pending = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        const rest = scanner.partial();
        if (rest !== undefined) res.write(scrubbed(rewrittenEvent(rest, options), options));
        else if (pending > 0 && unanswered(options, answered).length > 0) return endWithErrors(res, options, answered);
        break;
      }
      if (res.destroyed) break;
      scanner.feed(value);
      pending = completed.length > 0 ? 0 : pending + value.byteLength;
      let open = true;
      for (const event of completed.splice(0)) {
        if (event === undefined) {
          if (options.requestIds.length > 0) return endWithErrors(res, options, answered);
          options.onOversized();
          continue;
        }
        note(event, options, answered);
        open = res.write(scrubbed(rewrittenEvent(event, options), options));
      }
      // A POST's answer will not arrive whole: say so now rather than read the rest of it.
      if (pending > options.maxMessageBytes && options.requestIds.length > 0) return endWithErrors(res, options, answered);
      if (!open) await drained(res);
    }
    res.end();
  } catch {
    // The upstream broke off mid-stream (or the client left): end what the client got so far; a
    // request whose SSE answer broke was already answered by the middleware when it could be.
    res.destroy();
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Ends a POST's stream with an error for each of its requests not answered yet. */
function endWithErrors(res: ServerResponse, options: EventRelay, answered: ReadonlySet<JsonRpcId>): void {
  const message = options.onOversized();
  for (const id of unanswered(options, answered)) {
    res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } })}\n\n`);
  }
  res.end();
}

function unanswered(options: EventRelay, answered: ReadonlySet<JsonRpcId>): JsonRpcId[] {
  return options.requestIds.filter((id) => !answered.has(id));
}

function scrubbed(text: string, options: Pick<RelayOptions, 'scrub'>): string {
  return options.scrub === undefined ? text : options.scrub(text);
}

function rewritten(text: string, options: Pick<RelayOptions, 'rewrite'>): string {
  return options.rewrite === undefined ? text : options.rewrite(text);
}

/** The event with its data rewritten (one `data:` line where the first one was, every other field kept). */
function rewrittenEvent(event: string, options: Pick<RelayOptions, 'rewrite'>): string {
  if (options.rewrite === undefined) return event;
  const data = eventData(event);
  const next = options.rewrite(data);
  if (next === data) return event;
  const lines = event.split(/\r\n|\r|\n/);
  const first = lines.findIndex((line) => line.startsWith('data:'));
  const kept = lines.filter((line, index) => index === first || !line.startsWith('data:'));
  return kept.map((line, index) => (index === first ? `data: ${next}` : line)).join('\n');
}

/** Notes which of the client's requests an event answers. */
function note(event: string, options: EventRelay, answered: Set<JsonRpcId>): void {
  if (answered.size === options.requestIds.length) return;
  const data = eventData(event);
  if (data.length <= PARSED_EVENT_CHARS) {
    for (const id of answeredIds(data)) answered.add(id);
    return;
  }
  const ends = `${data.slice(0, ID_WINDOW_CHARS)} ${data.slice(-ID_WINDOW_CHARS)}`;
  for (const id of options.requestIds) if (ends.includes(`"id":${JSON.stringify(id)}`)) answered.add(id);
}

function answeredIds(data: string): JsonRpcId[] {
  if (!/"(?:result|error)"/.test(data)) return [];
  const parsed = parseJson(data);
  if (parsed instanceof NotJson) return [];
  const ids: JsonRpcId[] = [];
  for (const message of messagesIn(parsed)) {
    if (typeof message !== 'object' || message === null || !('result' in message || 'error' in message)) continue;
    const id = idOf(message);
    if (id !== null) ids.push(id);
  }
  return ids;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
