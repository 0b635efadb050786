// A new session's life as the bench times it: the client's POST initialize (timed, until its
// answer is read), then its DELETE (not timed), both through the same hop. The gateway scenario
// times these; `profile serve|proxy --initialize` counts what a hop spends on them.

/** What a 2025-era client sends with every POST. */
export const MCP_POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

/** A client's `initialize` request, as the body of a POST. */
export function initializeBody(clientName = 'bench-initialize'): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1' } },
  });
}

const BODY = initializeBody();

/** Opens a session at `url`: the milliseconds its initialize took, and its session id (null: none). */
export async function openSession(url: string): Promise<{ ms: number; session: string | null }> {
  const started = performance.now();
  const answer = await fetch(url, { method: 'POST', headers: MCP_POST_HEADERS, body: BODY });
  await answer.text();
  return { ms: performance.now() - started, session: answer.headers.get('mcp-session-id') };
}

/** Ends session `session` at `url` (DELETE). */
async function endSession(url: string, session: string): Promise<void> {
  await (await fetch(url, { method: 'DELETE', headers: { ...MCP_POST_HEADERS, 'mcp-session-id': session } })).text();
}

/** Opens a session at `url` and ends it; resolves with the milliseconds the initialize took. */
export async function initializeAndEnd(url: string): Promise<number> {
  const { ms, session } = await openSession(url);
  if (session !== null) await endSession(url, session);
  return ms;
}
