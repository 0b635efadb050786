import type { IncomingMessage } from 'node:http';
import { headerRecord } from '../recovery/outgoing-request.js';
import { IncomingHeaders } from '../upstream/incoming-headers.js';

// Request headers a client may pass to the upstream: the ones MCP's Streamable HTTP transport
// defines and nothing else (2025-06-18: `MCP-Protocol-Version`; 2026-07-28 transports §Standard
// Request Headers: `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` a tool declares). Any other
// `Mcp-*` header is the client's invention, which the upstream might take for the gateway's word.
// Never the client's session id: the upstream gets its own.
const PASSED_REQUEST_HEADERS = ['accept', 'content-type', 'last-event-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name'];
// Answer headers passed back, plus `Mcp-*` ones; never the upstream's session id (the client gets the gateway's).
const PASSED_ANSWER_HEADERS = ['content-type', 'cache-control', 'retry-after'];

/** Whether a client's request header goes on to the upstream (besides the ones configured to). */
function isPassedRequestHeader(name: string): boolean {
  return PASSED_REQUEST_HEADERS.includes(name) || name.startsWith('mcp-param-');
}

/**
 * The headers of a request to the upstream: the client's that pass, then the configured ones (which
 * win), then `sessionId` (the gateway's key for the upstream session) when there is one.
 */
export function upstreamRequestHeaders(
  req: IncomingMessage,
  forwarded: readonly string[],
  configured: Readonly<Record<string, string>>,
  sessionId?: string,
): Record<string, string> {
  // A plain object, not a `Headers`: the HTTP client reads it as it is (a `Headers` is copied, sorted, on every read).
  const headers: Record<string, string> = {};
  const sent = req.headers;
  for (const header in sent) {
    const value = sent[header];
    if (typeof value === 'string' && (isPassedRequestHeader(header) || forwarded.includes(header))) headers[header] = value;
  }
  for (const header in configured) headers[header.toLowerCase()] = configured[header] as string;
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  return headers;
}

/**
 * The headers of the client's answer: the upstream's that pass (their values scrubbed of the
 * gateway's secrets), the gateway's own `extra`, and the gateway's session id in place of the upstream's.
 */
export function clientAnswerHeaders(
  response: Response,
  extra: Record<string, string>,
  options: { readonly token: string | undefined; readonly challenges: boolean; readonly scrub: ((text: string) => string) | undefined },
): Record<string, string> {
  const headers: Record<string, string> = { ...extra };
  const scrub = options.scrub ?? ((text: string) => text);
  const pass = (value: string, header: string) => {
    const passed = PASSED_ANSWER_HEADERS.includes(header) || (header.startsWith('mcp-') && header !== 'mcp-session-id');
    if (passed || (options.challenges && header === 'www-authenticate')) headers[header] = scrub(value);
  };
  // The HTTP client's own record, in the upstream's order: no sorted copy to walk.
  const fields = IncomingHeaders.fieldsOf(response.headers);
  if (fields === undefined) response.headers.forEach(pass);
  else
    for (const header in fields) {
      const value = fields[header];
      if (typeof value === 'string') pass(value, header);
    }
  if (options.token !== undefined && response.headers.has('mcp-session-id')) headers['mcp-session-id'] = options.token;
  // Reverse proxies (nginx) must not buffer an event stream.
  if (headers['content-type']?.startsWith('text/event-stream')) headers['x-accel-buffering'] = 'no';
  return headers;
}

/** A request header's value, when it was sent once and is not empty. */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Request headers, as a `Headers` or a plain object. */
export type RequestHeaders = Headers | Readonly<Record<string, string>>;

/** A copy of `headers` naming the upstream session `sessionId` (a plain object: the HTTP client reads it as it is). */
export function withSession(headers: RequestHeaders, sessionId: string): Record<string, string> {
  const copy = headerRecord(headers);
  copy['mcp-session-id'] = sessionId;
  return copy;
}
