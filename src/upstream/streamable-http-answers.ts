import { networkErrorText } from '../errors/network-error-text.js';
import { WatchedResponse } from '../recovery/watched-response.js';
import type { ChunkSource } from '../shared/chunk-reader.js';
import { joinText } from '../shared/concat-bytes.js';
import { type JsonRpcId, type JsonRpcMessage, LIFELINE_ERROR } from '../shared/json-rpc.js';
import { type BodyBytes, readWholeBody } from '../shared/read-whole-body.js';
import { excerpt } from '../shared/server-text.js';
import { readSseEvents, type SseEvent, type SseProgress } from '../shared/sse/read-sse-events.js';
import type { MessageDelivery } from './message-delivery.js';
import type { UpstreamError, UpstreamSink } from './upstream.js';

/** Above this, a message is held as bytes and passed on without being parsed (only its ends are read). */
const LARGE_MESSAGE_BYTES = 64 * 1024;
/** Times a response stream that ended early is resumed from its last event id (spec: GET with Last-Event-ID). */
const MAX_RESUMES = 3;

/** What {@linkcode AnswerReader} needs from its upstream. */
export interface AnswerReaderPlan {
  readonly sink: UpstreamSink;
  readonly delivery: MessageDelivery;
  /** Largest message held to read it (a JSON body, one SSE event). */
  readonly maxMessageBytes: number;
  readonly where: string;
  readonly timeoutMs: number;
  readonly scrub: (text: string) => string;
  /** Aborted when the upstream closes. */
  readonly closing: AbortSignal;
  /** Re-opens a response stream after its last event (GET with Last-Event-ID); undefined when it cannot. */
  resume(progress: SseProgress, signal: AbortSignal): Promise<ChunkSource | undefined>;
  /** A failure to read an answer, as the error `send` rejects with. */
  failure(error: unknown, message: JsonRpcMessage): UpstreamError;
}

/** What went wrong in a stream that did not answer everything. */
interface StreamTrouble {
  invalid: number;
  oversized: number;
  broke: unknown;
}

/**
 * Reads a Streamable HTTP server's answers (JSON bodies and SSE streams, the POST's and the
 * server's own) and hands every message to the delivery as text or, when large, as the bytes it
 * arrived in. Each request it carries gets exactly one answer: the server's, or an error that
 * says why none came.
 */
export class AnswerReader {
  private readonly plan: AnswerReaderPlan;

  constructor(plan: AnswerReaderPlan) {
    this.plan = plan;
  }

  /** A JSON answer: small ones read as text (which the middleware watches), large ones held as bytes. */
  async readJson(response: Response, pending: Set<JsonRpcId>, message: JsonRpcMessage): Promise<void> {
    const { sink, delivery, maxMessageBytes } = this.plan;
    let text: string | undefined;
    let body: BodyBytes | undefined;
    try {
      // A small body with a declared length is read with text(), which the middleware watches for
      // a session error in a 200; a large one is held as bytes and passed on as they are.
      const declared = Number(response.headers.get('content-length'));
      if (declared > 0 && declared <= LARGE_MESSAGE_BYTES) text = await response.text();
      else body = await readWholeBody(response, maxMessageBytes, WatchedResponse.readerOf);
    } catch (error) {
      throw this.plan.failure(error, message);
    }
    if (text === undefined && body === undefined) {
      sink.event({
        level: 'warn',
        type: 'message-too-large',
        message: `dropped an answer larger than ${maxMessageBytes} bytes from the server`,
      });
      return this.answerMissing(
        pending,
        message,
        `its answer was larger than the ${maxMessageBytes}-byte message limit (--max-message-size) and was dropped`,
      );
    }
    if (body !== undefined && body.bytes <= LARGE_MESSAGE_BYTES) text = joinText(body.chunks, body.bytes);
    const delivered =
      text !== undefined
        ? delivery.deliverText(text, pending)
        : delivery.deliverBytes((body?.chunks ?? []).map(foldLineBreaks), body?.bytes ?? 0, pending);
    if (!delivered && pending.size > 0) {
      const start = text ?? joinText(body?.chunks.slice(0, 1) ?? [], 0);
      return this.answerMissing(
        pending,
        message,
        `the server answered with invalid JSON: ${excerpt(this.plan.scrub(start.slice(0, 200))).trim()}`,
      );
    }
    if (pending.size > 0) this.answerMissing(pending, message, 'the server answered HTTP 200 without an answer to it');
  }

  /**
   * Reads a POST's SSE answer. When it ends (or breaks) before the answer, it is resumed from its
   * last event id where the server gave one (2025-11-25 lets servers close early and expects the
   * client to resume with GET and Last-Event-ID); otherwise the request is answered with an error
   * at once, instead of waiting for a timeout the server already made certain.
   */
  async readStream(body: ChunkSource, pending: Set<JsonRpcId>, message: JsonRpcMessage, signal: AbortSignal): Promise<void> {
    const progress: SseProgress = { lastEventId: undefined, retryMs: undefined };
    const trouble: StreamTrouble = { invalid: 0, oversized: 0, broke: undefined };
    let stream: ChunkSource | undefined = body;
    for (let resumes = 0; stream !== undefined; resumes++) {
      try {
        await readSseEvents(stream, {
          maxEventBytes: this.plan.maxMessageBytes,
          textLimit: LARGE_MESSAGE_BYTES,
          progress,
          handlers: this.eventHandlers(pending, trouble),
        });
        trouble.broke = undefined;
      } catch (error) {
        trouble.broke = error;
      }
      if (pending.size === 0 || signal.aborted || this.plan.closing.aborted) return;
      stream = undefined;
      if (progress.lastEventId === undefined || resumes >= MAX_RESUMES) break;
      try {
        stream = await this.plan.resume(progress, signal);
      } catch (error) {
        trouble.broke = error;
      }
    }
    this.answerMissing(pending, message, this.troubleText(trouble));
  }

  /** Reads the server's own stream (GET) to its end; resolves with the events it carried. */
  async readServerStream(body: ReadableStream<Uint8Array>, progress: SseProgress): Promise<number> {
    const handlers = this.eventHandlers(new Set(), { invalid: 0, oversized: 0, broke: undefined });
    let events = 0;
    const onEvent = handlers.onEvent;
    handlers.onEvent = (event) => {
      events += 1;
      onEvent(event);
    };
    await readSseEvents(body, { maxEventBytes: this.plan.maxMessageBytes, textLimit: LARGE_MESSAGE_BYTES, progress, handlers });
    return events;
  }

  /** Answers each request still waiting with a JSON-RPC error that says what happened. */
  answerMissing(pending: Set<JsonRpcId>, message: JsonRpcMessage, why: string): void {
    for (const id of pending) {
      this.plan.delivery.deliver({
        jsonrpc: '2.0',
        id,
        error: {
          code: LIFELINE_ERROR,
          message: `mcp-lifeline: ${message.method ?? 'request'} to ${this.plan.where}: ${why}; it may or may not have run, so it was not sent again`,
        },
      });
    }
    pending.clear();
  }

  private eventHandlers(pending: Set<JsonRpcId>, trouble: StreamTrouble) {
    const { sink, delivery, maxMessageBytes } = this.plan;
    return {
      onEvent: (event: SseEvent) => {
        const delivered =
          event.data !== undefined
            ? delivery.deliverText(event.data, pending)
            : delivery.deliverBytes(event.chunks ?? [], event.bytes, pending);
        if (!delivered) trouble.invalid += 1;
      },
      onOversized: () => {
        trouble.oversized += 1;
        sink.event({
          level: 'warn',
          type: 'message-too-large',
          message: `dropped a message larger than ${maxMessageBytes} bytes from the server`,
        });
      },
      ready: sink.ready,
    };
  }

  private troubleText(trouble: StreamTrouble): string {
    const parts = [
      trouble.broke === undefined
        ? 'the server ended the response stream without answering it'
        : `the server's response stream broke before the answer arrived (${networkErrorText(trouble.broke, this.plan.timeoutMs)})`,
    ];
    if (trouble.invalid > 0) parts.push(`${trouble.invalid} event(s) in it were not valid JSON`);
    if (trouble.oversized > 0)
      parts.push(
        `${trouble.oversized} message(s) in it exceeded the ${this.plan.maxMessageBytes}-byte limit (--max-message-size) and were dropped`,
      );
    return parts.join('; ');
  }
}

/** JSON has line breaks only as whitespace (strings escape them): a space keeps the message on one stdio line. */
function foldLineBreaks(chunk: Uint8Array): Uint8Array {
  if (chunk.indexOf(0x0a) === -1 && chunk.indexOf(0x0d) === -1) return chunk;
  const folded = Uint8Array.from(chunk);
  for (let index = 0; index < folded.length; index++) if (folded[index] === 0x0a || folded[index] === 0x0d) folded[index] = 0x20;
  return folded;
}
