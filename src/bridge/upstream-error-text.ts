import { isLifelineError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { describeUrl } from '../recovery/redact.js';

/**
 * What went wrong talking to the remote server, in words a user can act on: the answer, the likely
 * cause, and what to do (for refused credentials: pass them with --header).
 */
export function upstreamErrorText(error: unknown, url: URL): string {
  const where = describeUrl(url.href);
  if (isLifelineError(error)) return error.message;
  const status = httpStatusOf(error);
  if (status !== undefined) return httpErrorText(status, bodyOf(error), where);
  if (error instanceof SyntaxError) return `${where} answered with invalid JSON (a malformed or cut-off answer): ${error.message}`;
  if (error instanceof Error && error.name === 'ZodError') return `${where} answered with something that is not a JSON-RPC message`;
  if (error instanceof Error && /Unexpected content type: (.*)$/.test(error.message)) {
    const type = /Unexpected content type: (.*)$/.exec(error.message)?.[1] ?? 'unknown';
    return `${where} answered with content type ${type}, not MCP (JSON or SSE): is this the MCP endpoint URL?`;
  }
  return `cannot reach ${where}: ${networkErrorText(error)}`;
}

/** Text for an HTTP error status from the MCP endpoint. */
export function httpErrorText(status: number, body: string, where: string): string {
  const said = excerpt(body);
  switch (status) {
    case 401:
    case 403:
      return (
        `${where} refused the request: HTTP ${status}${said}. ` +
        'Pass credentials with --header "Authorization: Bearer ${TOKEN}" (or --header-file PATH).'
      );
    case 404:
      return `no MCP endpoint at ${where} (HTTP 404${said ? `,${said.slice(1)}` : ''}): check the path (often /mcp)`;
    case 405:
      return `${where} does not accept POST (HTTP 405): not a Streamable HTTP MCP endpoint (an SSE-only server, or the wrong path?)`;
    case 406:
    case 415:
      return `${where} rejected the request format (HTTP ${status})${said}: not a Streamable HTTP MCP endpoint?`;
    default:
      return `${where} answered HTTP ${status}${said}`;
  }
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, status } = error as { code?: unknown; status?: unknown };
  // v1 StreamableHTTPError carries the status as `code`; v2 SdkHttpError as `status`.
  if (typeof status === 'number' && status >= 100) return status;
  if (typeof code === 'number' && code >= 100 && error instanceof Error && /Streamable HTTP error/.test(error.message)) return code;
  return undefined;
}

function bodyOf(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return message.replace(/^Streamable HTTP error: /, '').replace(/^Error POSTing to endpoint: ?/, '');
}

function excerpt(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '' || text === 'null') return '';
  return ` "${text.length > 160 ? `${text.slice(0, 160)}…` : text}"`;
}
