import { encodeHeaderValue } from './header-value.js';

/** The 2026-07-28 revision: the one stateless revision mcp-lifeline speaks to servers. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
/** Modern revisions mcp-lifeline can speak, preferred first. */
export const MODERN_PROTOCOL_VERSIONS: readonly string[] = [MODERN_PROTOCOL_VERSION];

/** Reserved `_meta` keys (2026-07-28 basic §_meta). */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** What every modern request carries in `params._meta` instead of a session. */
export interface Envelope {
  readonly protocolVersion: string;
  readonly clientCapabilities: Record<string, unknown>;
  readonly clientInfo?: unknown;
  /** The level the host set with `logging/setLevel`; without it the server sends no log messages. */
  readonly logLevel?: string | undefined;
}

/** `params` with the envelope in `_meta`; the host's own `_meta` keys (a progress token) are kept. */
export function stampEnvelope(params: Record<string, unknown> | undefined, envelope: Envelope): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...((params?.['_meta'] as Record<string, unknown> | undefined) ?? {}) };
  meta[META.protocolVersion] = envelope.protocolVersion;
  meta[META.clientCapabilities] = envelope.clientCapabilities;
  if (envelope.clientInfo !== undefined) meta[META.clientInfo] = envelope.clientInfo;
  if (envelope.logLevel !== undefined) meta[META.logLevel] = envelope.logLevel;
  return { ...params, _meta: meta };
}

// Methods whose target is mirrored into `Mcp-Name` (2026-07-28 transports §Standard Request Headers).
const NAMED: Readonly<Record<string, 'name' | 'uri'>> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** The standard headers of a modern POST: `MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` where it applies. */
export function standardHeaders(
  method: string,
  params: Record<string, unknown> | undefined,
  protocolVersion: string,
): Record<string, string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': protocolVersion, 'mcp-method': method };
  const field = NAMED[method];
  const name = field === undefined ? undefined : params?.[field];
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}
