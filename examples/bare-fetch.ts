// Any fetch-based client: wrap fetch once, then speak Streamable HTTP by hand.
import { isLifelineError, withSessionRecovery } from 'mcp-lifeline';

const fetchWithRecovery = withSessionRecovery()(fetch);

export async function listTools(url: string, sessionId: string): Promise<unknown> {
  try {
    const response = await fetchWithRecovery(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    return await response.json();
  } catch (error) {
    // The session expired and could not be re-established: the message says why.
    if (isLifelineError(error)) console.error(error.code, error.message);
    throw error;
  }
}
