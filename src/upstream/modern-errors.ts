import { LIFELINE_ERROR, METHOD_NOT_FOUND, NotJson, parseJson } from '../shared/json-rpc.js';
import { excerpt } from '../shared/server-text.js';

/** A JSON-RPC error for the host, in words that name the cause. */
export interface HostError {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

const HEADER_MISMATCH = -32020;
const MISSING_CLIENT_CAPABILITY = -32021;
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/**
 * A non-2xx answer of a 2026-07-28 server, for a 2025 host: its JSON-RPC error kept (code and
 * data), its message made clear. A 404 with -32601 is an unknown method, never a lost session:
 * modern servers have no sessions (transports §Protocol Version Header).
 */
export function modernErrorForHost(status: number, body: string, context: { readonly method: string; readonly where: string }): HostError {
  const error = jsonRpcError(body);
  const prefix = `mcp-lifeline: ${context.where} refused ${context.method}`;
  if (error === undefined) {
    const hint = status === 401 || status === 403 ? ': check the credentials sent' : '';
    return { code: LIFELINE_ERROR, message: `${prefix} with HTTP ${status}${excerpt(body)}${hint}` };
  }
  const said = error.message === '' ? '' : ` "${error.message}"`;
  const data = error.data === undefined ? {} : { data: error.data };
  switch (error.code) {
    case METHOD_NOT_FOUND:
      return {
        code: METHOD_NOT_FOUND,
        message: `Method not found: ${context.method} (the server answered HTTP ${status}${said})`,
        ...data,
      };
    case HEADER_MISMATCH:
      return {
        code: HEADER_MISMATCH,
        message: `${prefix}: its HTTP headers did not match the request (-32020 HeaderMismatch)${said}`,
        ...data,
      };
    case MISSING_CLIENT_CAPABILITY: {
      const required = (error.data as { requiredCapabilities?: unknown } | undefined)?.requiredCapabilities;
      const needs = required === undefined ? '' : ` it needs ${JSON.stringify(required)}`;
      return {
        code: MISSING_CLIENT_CAPABILITY,
        message: `${prefix}: the host did not declare a capability the server requires (-32021);${needs}${said}`,
        ...data,
      };
    }
    case UNSUPPORTED_PROTOCOL_VERSION: {
      const supported = (error.data as { supported?: unknown } | undefined)?.supported;
      const list = Array.isArray(supported) ? ` it supports ${supported.join(', ')}` : '';
      return {
        code: UNSUPPORTED_PROTOCOL_VERSION,
        message: `${prefix}: the protocol version was not accepted (-32022);${list}${said}`,
        ...data,
      };
    }
    default:
      return { code: error.code, message: `${prefix}: HTTP ${status}, JSON-RPC error ${error.code}${said}`, ...data };
  }
}

function jsonRpcError(body: string): { code: number; message: string; data?: unknown } | undefined {
  const parsed = parseJson(body);
  if (parsed instanceof NotJson) return undefined;
  const error = (parsed as { error?: { code?: unknown; message?: unknown; data?: unknown } } | null)?.error;
  if (typeof error?.code !== 'number') return undefined;
  return { code: error.code, message: typeof error.message === 'string' ? error.message : '', data: error.data };
}
