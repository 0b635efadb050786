import type { SessionLossVerdict } from '../classifier/classify-session-loss.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { readPrefix } from '../shared/read-prefix.js';
import type { AnyFetch } from './outgoing-request.js';
import { sendOwnRequest } from './own-request.js';
import { readJsonRpcAnswer } from './read-answer.js';

type Lost = SessionLossVerdict & { lost: true };

/** What a `ping` on the session says about it. */
export type SessionCheck =
  /** The session answered: it is alive. */
  | { readonly state: 'alive' }
  /** The server answered the ping as if the session were gone. */
  | { readonly state: 'lost'; readonly verdict: Lost; readonly status: number }
  /** No answer that tells either way (timeout, network error, 5xx, 401/403, an answer no rule knows). */
  | { readonly state: 'unconfirmed'; readonly reason: string };

/** How to ping: where, with which headers (the session's credentials and its current server id), and how to read a loss. */
export interface PingPlan {
  readonly next: AnyFetch;
  readonly url: string;
  readonly headers: Headers;
  /** The ping's JSON-RPC id (namespaced, so it never collides with the client's ids). */
  readonly id: string;
  /** Bound for the whole exchange, in milliseconds. */
  readonly timeout: number;
  /**
   * The loss verdict for an answer on this session, or undefined when the answer is not a loss.
   * `challenge`: the answer's `WWW-Authenticate` (null when none).
   */
  readonly classify: (status: number, contentType: string | null, body: string, challenge: string | null) => Lost | undefined;
}

// Headers that describe the message that triggered the ping, not the session.
const MESSAGE_HEADERS = ['last-event-id', 'mcp-method', 'mcp-name', 'content-length'];

/**
 * Sends `ping` (MCP basic/utilities §Ping: every receiver must answer it) on the session and says
 * whether the session is alive. A ping cannot fail for a tool's reasons, so any session error in
 * its answer confirms the loss, and any JSON-RPC answer (even an error such as "method not found")
 * shows the session took the message. Never throws.
 */
export async function pingSession(plan: PingPlan): Promise<SessionCheck> {
  const headers = new Headers(plan.headers);
  for (const name of MESSAGE_HEADERS) headers.delete(name);
  headers.set('content-type', 'application/json');
  headers.set('accept', 'application/json, text/event-stream');
  const signal = AbortSignal.timeout(plan.timeout);
  let response: Response;
  try {
    response = await sendOwnRequest(plan.next, plan.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: plan.id, method: 'ping' }),
      signal,
    });
  } catch (error) {
    return { state: 'unconfirmed', reason: `the ping got no answer: ${networkErrorText(error, plan.timeout)}` };
  }
  const contentType = response.headers.get('content-type');
  if (!response.ok) {
    const prefix = await readPrefix(response, 4096);
    await prefix.discard();
    const verdict = plan.classify(response.status, contentType, prefix.text, response.headers.get('www-authenticate'));
    if (verdict !== undefined) return { state: 'lost', verdict, status: response.status };
    return { state: 'unconfirmed', reason: `the ping was answered with HTTP ${response.status}` };
  }
  const others: string[] = [];
  try {
    const answer = await readJsonRpcAnswer(response, plan.id, (data) => {
      if (others.length < 4) others.push(data);
    });
    if (answer.result !== undefined) return { state: 'alive' };
    const verdict = plan.classify(200, 'application/json', JSON.stringify({ jsonrpc: '2.0', id: plan.id, error: answer.error }), null);
    return verdict === undefined ? { state: 'alive' } : { state: 'lost', verdict, status: response.status };
  } catch (error) {
    // No answer to the ping: an error sent in its place may still name the loss ({"error": "…"}).
    for (const data of others) {
      const verdict = plan.classify(200, 'application/json', data, null);
      if (verdict !== undefined) return { state: 'lost', verdict, status: response.status };
    }
    return { state: 'unconfirmed', reason: `the ping's answer could not be read: ${networkErrorText(error, plan.timeout)}` };
  }
}
