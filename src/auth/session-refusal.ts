// A 401 to a request on an MCP session is the sign-in's business only when it is about the
// token: one that says the session is gone goes up to session recovery untouched, which opens a
// new session with the same token (and, if that is refused too, comes back here as a sign-in).
import { classifySessionLoss } from '../classifier/classify-session-loss.js';
import { readPrefix } from '../shared/read-prefix.js';

const PEEK_BYTES = 4096;
// Sessions whose accepted token is remembered; past this, the oldest is forgotten.
const MAX_SESSIONS = 1024;

/**
 * The token each MCP session is judged by: the one it accepted last, or a token just renewed for
 * it and refused there all the same. A 401 challenge to that very token shows the session, not
 * the token, is gone (the classifier's `challenged-401`); a new session, opened without a session
 * id, tells for certain.
 */
export class SessionTokens {
  private readonly tokens = new Map<string, string | undefined>();

  /** The session answered a request that carried `token`. */
  accepted(sessionId: string, token: string | undefined): void {
    this.set(sessionId, token);
  }

  /** The session refused `token` right after it was renewed, without calling it invalid: the session is suspect, not the token. */
  refusedAfterRenewal(sessionId: string, token: string | undefined): void {
    this.set(sessionId, token);
  }

  /** Whether a 401 to `token` on the session speaks of the session. */
  has(sessionId: string, token: string | undefined): boolean {
    return this.tokens.has(sessionId) && this.tokens.get(sessionId) === token;
  }

  private set(sessionId: string, token: string | undefined): void {
    this.tokens.delete(sessionId);
    this.tokens.set(sessionId, token);
    if (this.tokens.size > MAX_SESSIONS) this.tokens.delete(this.tokens.keys().next().value as string);
  }
}

/**
 * Reads a 401 to a request on session `sessionId` (without consuming it: `response` is the same
 * answer, rebuilt) and says whether it reports the session lost rather than the token refused.
 */
export async function readSessionRefusal(
  response: Response,
  request: { readonly method: string; readonly credentialsAccepted: boolean },
): Promise<{ readonly response: Response; readonly sessionLost: boolean }> {
  const prefix = await readPrefix(response, PEEK_BYTES);
  const verdict = classifySessionLoss({
    method: request.method,
    hadSessionId: true,
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: prefix.text,
    challenge: response.headers.get('www-authenticate'),
    credentialsAccepted: request.credentialsAccepted,
  });
  return { response: prefix.rebuild(), sessionLost: verdict.lost };
}
