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
 * within `timeoutMs` (a client that trickles its body must not hold a connection forever).
 */
export async function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyTooLargeError(`the request body (${declared} bytes) is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    req.destroy();
  }, timeoutMs);
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BodyTooLargeError(`the request body is larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (late) throw new BodyTimeoutError(`the request body did not arrive within ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  if (late) throw new BodyTimeoutError(`the request body did not arrive within ${timeoutMs} ms`);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/**
 * Sends a fetch Response to the client: an SSE body streamed as it arrives, with backpressure; a
 * JSON body as one piece. Resolves when the body ended or the client went away (the caller then
 * aborts the upstream exchange). Rejects only when reading a JSON body failed before anything was sent.
 */
export async function pipeResponse(res: ServerResponse, response: Response, headers: Record<string, string>): Promise<void> {
  if (response.body === null) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  if (/^application\/json\b/i.test(response.headers.get('content-type') ?? '')) {
    // A JSON answer is one complete message; reading it whole (not through `body`) lets the
    // middleware check it for a session error wrapped in a 200 (dialect jsonrpc-200) as it is read.
    const bytes = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...headers, 'content-length': String(bytes.length) });
    res.end(bytes);
    return;
  }
  res.writeHead(response.status, headers);
  // SSE: the client must see events as they come, not when a buffer fills.
  res.flushHeaders();
  const reader = response.body.getReader();
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
