import type { IncomingMessage, ServerResponse } from 'node:http';
import { LifelineError } from '../errors/LifelineError.js';
import { arrivedBody } from '../shared/arrived-body.js';
import { summarizeJsonRpc } from '../shared/json-rpc.js';

/** The client's request body was larger than the limit. */
export class BodyTooLargeError extends LifelineError<'BODY_TOO_LARGE'> {
  override name = 'BodyTooLargeError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('BODY_TOO_LARGE', message, options);
  }
}

/** The client's request body did not arrive in time. */
export class BodyTimeoutError extends LifelineError<'BODY_TIMEOUT'> {
  override name = 'BodyTimeoutError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('BODY_TIMEOUT', message, options);
  }
}

/**
 * Reads a request body into memory, up to `limit` bytes (bodies are replayed, so they are kept),
 * within `timeoutMs` (a client that trickles its body must not hold a connection forever). Plain
 * listeners rather than `for await`: an async iterator costs about 15 µs a request here. A body
 * over the limit stops the reading but leaves the connection up, so the 413 can still be sent.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new BodyTooLargeError(`the request body (${declared} bytes) is larger than ${limit} bytes`));
  // The request is handed over when its head is parsed; Node hands over the body that came in the
  // same packet before the next turn of the microtask queue: then it is taken at once (arrivedBody).
  return Promise.resolve().then(() => {
    const whole = arrivedBody(req);
    if (whole === undefined) return bodyThroughEvents(req, limit, timeoutMs);
    if (whole.length > limit) throw new BodyTooLargeError(`the request body is larger than ${limit} bytes`);
    return whole;
  });
}

/** The body as it arrives, within the bounds. */
function bodyThroughEvents(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: Error) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', settle).off('close', onClose);
      if (error !== undefined) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        req.pause();
        settle(new BodyTooLargeError(`the request body is larger than ${limit} bytes`));
      }
    };
    const onEnd = () => settle();
    const onClose = () => settle(new Error('the client closed the connection before its request body arrived'));
    const timer = setTimeout(() => {
      settle(new BodyTimeoutError(`the request body did not arrive within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', settle).on('close', onClose);
  });
}

/** Sends a small JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Sends plain text. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * The answer to a request the store failed (issue 16: never `500 internal error`): 503 with
 * `Retry-After`, and a JSON-RPC error naming the store for each request in the body.
 */
export function sendStoreDown(
  res: ServerResponse,
  body: Buffer | undefined,
  message: string,
  options: { readonly retryAfterSeconds: number; readonly headers?: Record<string, string> },
): void {
  const text = `mcp-lifeline: ${message}; try again in a few seconds`;
  sendJson(res, 503, jsonRpcErrors(body, -32000, text) ?? jsonRpcError(-32000, text), {
    ...options.headers,
    'retry-after': String(options.retryAfterSeconds),
  });
}

/**
 * A JSON-RPC error answer for every request in `body` (one object, or an array for a batch), so the
 * host shows `message` next to the call that failed; `null` when the body holds no request.
 */
export function jsonRpcErrors(body: Buffer | undefined, code: number, message: string): unknown {
  const summary = summarizeJsonRpc(body === undefined || body.length === 0 ? undefined : body.toString('utf8'));
  const answers = summary.requestIds.map((id) => ({ jsonrpc: '2.0', id, error: { code, message } }));
  if (answers.length === 0) return null;
  return summary.batch ? answers : answers[0];
}

/** A JSON-RPC error object with `id: null`, for answers that are not about one request. */
export function jsonRpcError(code: number, message: string): unknown {
  return { jsonrpc: '2.0', id: null, error: { code, message } };
}

/**
 * The params of an `initialize` in a POST body, however large the body (up to the gateway's body
 * bound): one padded past the middleware's 64 KiB scan would otherwise pass as a stateless exchange,
 * opening an upstream session no limit counts.
 */
export function initializeIn(body: Buffer | undefined): { params: unknown } | undefined {
  if (body === undefined || body.length === 0) return undefined;
  const text = body.toString('utf8');
  if (!text.includes('"initialize"')) return undefined;
  const initialize = summarizeJsonRpc(text).messages.find((message) => message['method'] === 'initialize');
  return initialize === undefined ? undefined : { params: initialize['params'] ?? {} };
}
