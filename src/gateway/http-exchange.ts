import type { IncomingMessage, ServerResponse } from 'node:http';
import { summarizeJsonRpc } from '../recovery/outgoing-request.js';

/** The client's request body was larger than the limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** The client's request body did not arrive in time. */
export class BodyTimeoutError extends Error {
  override name = 'BodyTimeoutError';
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

/**
 * Sends a fetch Response to the client: an SSE body streamed as it arrives, with backpressure; any
 * other body (a JSON answer, an error page) as one piece. Resolves when the body ended or the client
 * went away (the caller then aborts the upstream exchange). Rejects only when reading a whole body
 * failed before anything was sent.
 */
export async function pipeResponse(res: ServerResponse, response: Response, headers: Record<string, string>): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  if (JSON_TYPE.test(type)) {
    // A JSON answer is one complete message; reading it as text (not through `body`) lets the
    // middleware check it for a session error wrapped in a 200 (dialect jsonrpc-200) as it is
    // read, and costs no stream.
    const text = await response.text();
    res.writeHead(response.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
    return;
  }
  if (!SSE_TYPE.test(type)) {
    const bytes = Buffer.from(await response.arrayBuffer());
    // 204 and 304 carry no body, and no length either (RFC 9110 §8.6).
    const bodyless = response.status === 204 || response.status === 304;
    res.writeHead(response.status, bodyless ? headers : { ...headers, 'content-length': String(bytes.length) });
    res.end(bodyless ? undefined : bytes);
    return;
  }
  const body = response.body;
  res.writeHead(response.status, headers);
  if (body === null) {
    res.end();
    return;
  }
  // SSE: the client must see events as they come, not when a buffer fills.
  res.flushHeaders();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch {
    // The upstream broke off mid-body (or the client left): end what the client got so far; a
    // request whose SSE answer broke was already answered by the middleware when it could be.
    res.destroy();
  } finally {
    reader.cancel().catch(() => {});
  }
}

const JSON_TYPE = /^application\/json\b/i;
const SSE_TYPE = /^text\/event-stream\b/i;

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
