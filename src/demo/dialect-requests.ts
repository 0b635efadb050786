// What the dialect server reads of a request: its body as parsed JSON, and the few fields its
// faults and counters look at. Bodies are read leniently: a test server must take what it is sent.
import type { IncomingMessage } from 'node:http';
import { messagesIn, NotJson, parseJson } from '../shared/json-rpc.js';

/** A POST body that is not JSON (answered 400 with a JSON-RPC parse error). */
export const INVALID_JSON = Symbol('invalid JSON');

/** The request's body as JSON; undefined when empty, {@linkcode INVALID_JSON} when not JSON. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  const parsed = parseJson(text);
  return parsed instanceof NotJson ? INVALID_JSON : parsed;
}

/** The JSON-RPC methods a body names (each message of a batch), for the counters. */
export function rpcMethodsOf(body: unknown): string[] {
  const methods: string[] = [];
  for (const message of messagesIn(body)) {
    const method = (message as { method?: unknown } | undefined)?.method;
    if (typeof method === 'string') methods.push(method);
  }
  return methods;
}

/** The method of the body's (first) message. */
export function rpcMethodOf(body: unknown): string | undefined {
  const message = Array.isArray(body) ? body[0] : body;
  const method = typeof message === 'object' && message !== null ? (message as { method?: unknown }).method : undefined;
  return typeof method === 'string' ? method : undefined;
}

/** The id of the body's (first) message. */
export function requestIdOf(body: unknown): unknown {
  const message = Array.isArray(body) ? body[0] : body;
  return typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
}

export function isInitialize(body: unknown): boolean {
  return messagesIn(body).some(
    (message) => typeof message === 'object' && message !== null && (message as { method?: unknown }).method === 'initialize',
  );
}

export function isToolCall(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'tools/call';
}

export function toolNameOf(body: unknown): unknown {
  return (body as { params?: { name?: unknown } }).params?.name;
}

export function argumentsOf(body: unknown): Record<string, unknown> {
  return (body as { params?: { arguments?: Record<string, unknown> } }).params?.arguments ?? {};
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request's headers as a server that quotes them in an error would (issue 9: secrets echoed back). */
export function quoteHeaders(req: IncomingMessage): string {
  return JSON.stringify(req.headers);
}
