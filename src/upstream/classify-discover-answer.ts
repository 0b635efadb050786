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
  /**
   * Speak the 2025 era: the endpoint reads POSTed JSON-RPC but not the modern way, or (`fallback`)
   * nothing in the answer proves the 2026-07-28 era (a 401, a 5xx, a DiscoverResult of revisions
   * mcp-lifeline does not speak), so the host's `initialize` decides.
   */
  | { readonly kind: 'legacy'; readonly evidence: string; readonly fallback?: true }
  /** POST is refused without a JSON-RPC answer (404, 405): no Streamable HTTP endpoint at this URL. */
  | { readonly kind: 'no-streamable-http'; readonly evidence: string; readonly status: number; readonly body: string }
  /** No answer at all (a network failure, a timeout): nothing is decided. */
  | { readonly kind: 'error'; readonly message: string; readonly status?: number | undefined };

/** The probe's outcome, before interpretation. */
export type DiscoverEvidence =
  /** The server answered with a JSON-RPC message (result or error), at any HTTP status. */
  | {
      readonly kind: 'json-rpc';
      readonly status: number;
      readonly result?: unknown;
      readonly error?: { readonly code?: unknown; readonly message?: unknown; readonly data?: unknown } | undefined;
      /** The answer's `WWW-Authenticate` (null: none; undefined: not read). */
      readonly challenge?: string | null | undefined;
    }
  /** The server answered with something else: an empty body, text, HTML. */
  | {
      readonly kind: 'other';
      readonly status: number;
      readonly contentType: string | null;
      readonly body: string;
      readonly challenge?: string | null | undefined;
    };

const UNSUPPORTED_PROTOCOL_VERSION = -32022;
// Revisions are dates: anything before the first stateless one is a 2025-era (initialize) revision.
const OLDEST_MODERN_VERSION = '2026-07-28';

/**
 * Reads a `server/discover` probe's answer strictly (2026-07-28 transports §Backward
 * Compatibility, versioning §Compatibility Matrix): only a DiscoverResult offering a revision
 * mcp-lifeline speaks makes a server modern. Any other answer falls back to the 2025 era, whose
 * `initialize` then finds out what the endpoint is: on evidence (a 4xx or a JSON-RPC error from
 * an endpoint that reads JSON-RPC), or for lack of proof (`fallback`: 401/403, which a server
 * answers a request without a session, a 5xx, revisions it cannot speak).
 */
export function classifyDiscoverAnswer(evidence: DiscoverEvidence): EraVerdict {
  const { status } = evidence;
  const said = describe(evidence);
  if (status === 401 || status === 403) {
    return fallback(`server/discover answered HTTP ${status}${said}${challengeText(evidence)}, which does not show a 2026-07-28 server`);
  }
  if (status >= 500) return fallback(`server/discover answered HTTP ${status}${said}, which says nothing about the protocol era`);
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
    return fallback(
      `server/discover offered ${supported.join(', ')}; mcp-lifeline speaks ${MODERN_PROTOCOL_VERSIONS.join(', ')} and the 2025 revisions`,
    );
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
    if (list.length > 0) return fallback(`server/discover was refused with -32022: the server supports only ${list.join(', ')}${said}`);
  }
  // Any other JSON-RPC error, at 200 or 4xx (404 -32601 included): the endpoint reads JSON-RPC
  // and does not know server/discover, which every modern server implements.
  return { kind: 'legacy', evidence: `server/discover answered HTTP ${status}${said}` };
}

/** Not proof of the 2026-07-28 era: the host's initialize decides (the 2025 handshake says what the endpoint is). */
function fallback(evidence: string): EraVerdict {
  return { kind: 'legacy', evidence, fallback: true };
}

function challengeText(evidence: DiscoverEvidence): string {
  if (evidence.challenge === undefined) return '';
  return evidence.challenge === null ? ' without a challenge' : ' with a challenge';
}

function describe(evidence: DiscoverEvidence): string {
  if (evidence.kind === 'other') return excerpt(evidence.body);
  const error = evidence.error;
  if (error === undefined) return '';
  const message = typeof error.message === 'string' ? ` "${error.message.slice(0, 160)}"` : '';
  return ` with JSON-RPC error ${String(error.code)}${message}`;
}
