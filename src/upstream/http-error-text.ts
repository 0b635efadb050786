import { excerpt } from '../shared/server-text.js';

/**
 * Text for an HTTP error status from the MCP endpoint, in words a user can act on: the answer, the
 * likely cause, and what to do. `body` is an excerpt of what the server said (already scrubbed of
 * secrets by the caller); `where` is the endpoint without query string.
 */
export function httpErrorText(status: number, body: string, where: string): string {
  const said = excerpt(body);
  switch (status) {
    case 401:
    case 403:
      return (
        `${where} refused the request: HTTP ${status}${said}. ` +
        "Pass credentials with --header 'Authorization: Bearer ${TOKEN}' (or --header-file PATH), or sign in with OAuth."
      );
    case 404:
      return `no MCP endpoint at ${where} (HTTP 404${said ? `,${said}` : ''}): check the path (often /mcp)`;
    case 405:
      return `${where} does not accept POST (HTTP 405): not a Streamable HTTP MCP endpoint (an SSE-only server, or the wrong path?)`;
    case 406:
    case 415:
      return `${where} rejected the request format (HTTP ${status})${said}: not a Streamable HTTP MCP endpoint?`;
    default:
      return `${where} answered HTTP ${status}${said}`;
  }
}
