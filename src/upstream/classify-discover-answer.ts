import { excerpt } from '../shared/server-text.js';
import { MODERN_PROTOCOL_VERSIONS } from './modern-request.js';

/** The server's `server/discover` answer as mcp-lifeline uses it. */
export interface DiscoverAnswer {
  /** The DiscoverResult: `supportedVersions`, `capabilities`, `_meta` (serverInfo), `instructions`. */
  readonly result: Record<string, unknown>;
  /** The modern revision both sides speak. */
  readonly version: string;
}

/** What one `server/discover` probe showed about the server's era and transport. */
export type EraVerdict =
  /** A DiscoverResult offering a revision mcp-lifeline speaks: a 2026-07-28 server. */
  | { readonly kind: 'modern'; readonly discover: DiscoverAnswer; readonly evidence: string }
  /** The endpoint reads POSTed JSON-RPC but not the modern way: a 2025-era Streamable HTTP server. */
  | { readonly kind: 'legacy'; readonly evidence: string }
  /** POST is refused without a JSON-RPC answer (404, 405): no Streamable HTTP endpoint at this URL. */
  | { readonly kind: 'no-streamable-http'; readonly evidence: string; readonly status: number; readonly body: string }
  /** Not era evidence (auth, server error, a modern server we cannot speak to): nothing is decided. */
  | { readonly kind: 'error'; readonly message: string; readonly status?: number | undefined };

/** The probe's outcome, before interpretation. */
export type DiscoverEvidence =
  /** The server answered with a JSON-RPC message (result or error), at any HTTP status. */
  | {
      readonly kind: 'json-rpc';
      readonly status: number;
      readonly result?: unknown;
      readonly error?: { readonly code?: unknown; readonly message?: unknown; readonly data?: unknown } | undefined;
    }
  /** The server answered with something else: an empty body, text, HTML. */
  | { readonly kind: 'other'; readonly status: number; readonly contentType: string | null; readonly body: string };

const UNSUPPORTED_PROTOCOL_VERSION = -32022;
// Revisions are dates: anything before the first stateless one is a 2025-era (initialize) revision.
const OLDEST_MODERN_VERSION = '2026-07-28';

/**
 * Reads a `server/discover` probe's answer strictly (2026-07-28 transports §Backward
 * Compatibility, versioning §Compatibility Matrix): only a DiscoverResult, or the server's own
 * word, makes a server modern; the 2025 era is chosen only on evidence (a 4xx or a JSON-RPC
 * error from an endpoint that reads JSON-RPC); 401/403 and 5xx are never era evidence.
 */
export function classifyDiscoverAnswer(evidence: DiscoverEvidence): EraVerdict {
  const { status } = evidence;
  const said = describe(evidence);
  if (status === 401 || status === 403) {
    return { kind: 'error', status, message: `the server refused the request (HTTP ${status}${said}): check the credentials sent` };
  }
  if (status >= 500)
    return { kind: 'error', status, message: `the server failed (HTTP ${status}${said}); that says nothing about its protocol era` };
  if (evidence.kind === 'other') {
    if (status === 404 || status === 405) {
      return { kind: 'no-streamable-http', status, body: evidence.body, evidence: `POST answered HTTP ${status}${said}` };
    }
    if (status >= 400) return { kind: 'legacy', evidence: `server/discover answered HTTP ${status}${said}` };
    // A 2xx that is not JSON-RPC is not modern evidence: the 2025 handshake then finds out what the
    // endpoint is, and says so precisely (an HTML page, an unexpected content type).
    return { kind: 'legacy', evidence: `server/discover answered HTTP ${status}${said}, not JSON-RPC` };
  }
  if (evidence.error !== undefined) return classifyError(evidence.error, status, said);
  const result = evidence.result as Record<string, unknown> | undefined;
  const supported = result?.['supportedVersions'];
  if (!Array.isArray(supported) || result === undefined) {
    // A JSON-RPC endpoint that answers an unknown method with some result: not modern evidence.
    return { kind: 'legacy', evidence: 'server/discover was answered with a result that is not a DiscoverResult' };
  }
  const version = MODERN_PROTOCOL_VERSIONS.find((candidate) => supported.includes(candidate));
  if (version === undefined) {
    return {
      kind: 'error',
      status,
      message: `the server speaks ${supported.join(', ')}; mcp-lifeline speaks ${MODERN_PROTOCOL_VERSIONS.join(', ')} and the 2025 revisions`,
    };
  }
  return { kind: 'modern', discover: { result, version }, evidence: `server/discover offered ${supported.join(', ')}` };
}

function classifyError(error: { code?: unknown; data?: unknown }, status: number, said: string): EraVerdict {
  if (error.code === UNSUPPORTED_PROTOCOL_VERSION) {
    // The server's own word on what it speaks: a 2025 revision in the list means 2025; else nothing to speak.
    const supported = (error.data as { supported?: unknown } | undefined)?.supported;
    const list = Array.isArray(supported) ? supported.filter((version): version is string => typeof version === 'string') : [];
    if (list.some((version) => version < OLDEST_MODERN_VERSION)) {
      return { kind: 'legacy', evidence: `server/discover was refused with -32022; the server supports ${list.join(', ')}` };
    }
    if (list.length > 0) return { kind: 'error', status, message: `the server supports only ${list.join(', ')}${said}` };
  }
  // Any other JSON-RPC error, at 200 or 4xx (404 -32601 included): the endpoint reads JSON-RPC
  // and does not know server/discover, which every modern server implements.
  return { kind: 'legacy', evidence: `server/discover answered HTTP ${status}${said}` };
}

function describe(evidence: DiscoverEvidence): string {
  if (evidence.kind === 'other') return excerpt(evidence.body);
  const error = evidence.error;
  if (error === undefined) return '';
  const message = typeof error.message === 'string' ? ` "${error.message.slice(0, 160)}"` : '';
  return ` with JSON-RPC error ${String(error.code)}${message}`;
}
