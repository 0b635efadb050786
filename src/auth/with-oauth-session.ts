import { challengeError } from '../classifier/sign-in-words.js';
import { type FetchLike, headerOf, type Middleware } from '../recovery/outgoing-request.js';
import { NotJson, parseJson } from '../shared/json-rpc.js';
import { isBearerChallenge, isInsufficientScope, readChallenge } from './challenge.js';
import type { OAuthSession } from './oauth-session.js';
import { SignInError } from './SignInError.js';
import { readSessionRefusal, SessionTokens } from './session-refusal.js';

/** The request as {@linkcode WithOAuthSessionOptions.interactive} sees it. */
export interface AuthorizedRequest {
  readonly method: string;
  readonly url: string;
  /** The body, when it is text (a JSON-RPC message or batch). */
  readonly body: string | undefined;
}

/** Options of {@linkcode withOAuthSession}. */
export interface WithOAuthSessionOptions {
  /**
   * Whether a request may start a sign-in (open the browser) when it needs one. Background
   * requests (the server's event stream, a session's DELETE) never should: they fail with
   * `SIGN_IN_REQUIRED` and are retried by their owner once a request signed in.
   * Neither should a `ping` (keepalives): only a request the user is waiting for.
   * @default POST requests other than a JSON-RPC `ping`
   */
  readonly interactive?: ((request: AuthorizedRequest) => boolean) | undefined;
  /** Step-ups (403 `insufficient_scope`) one request may trigger. @default 1 */
  readonly maxStepUps?: number | undefined;
}

export const DEFAULT_MAX_STEP_UPS = 1;

/**
 * A fetch middleware that signs requests with the session's token: refreshes it ahead of expiry,
 * answers a 401 with a newer token (another process's, a refresh, or a sign-in) and sends the
 * request again once, and a 403 `insufficient_scope` with a step-up to the union of the scopes.
 *
 * Only requests to the session's server (its origin) get the token; others go as they came.
 *
 * Put it beneath `withSessionRecovery` (recovery outside, auth inside): re-initializations and
 * replays then carry the newest token. A 401 to a request on an MCP session that says the session
 * is gone (no challenge and a session wording, or a challenge to the token that session last
 * accepted; never `error="invalid_token"`) is not a sign-in matter: it goes up untouched, and
 * recovery opens a new session with the same token.
 *
 * @example
 * const session = createOAuthSession({ serverUrl: url });
 * const transport = new StreamableHTTPClientTransport(new URL(url), {
 *   fetch: applyMiddlewares(withOAuthSession(session), withSessionRecovery())(fetch),
 * });
 */
export function withOAuthSession(session: OAuthSession, options: WithOAuthSessionOptions = {}): Middleware {
  const interactive = options.interactive ?? isUserRequest;
  const maxStepUps = options.maxStepUps ?? DEFAULT_MAX_STEP_UPS;
  if (!Number.isInteger(maxStepUps) || maxStepUps < 0)
    throw new TypeError(`withOAuthSession: maxStepUps must be a non-negative integer, got ${maxStepUps}`);

  return function oauthSession<F extends FetchLike>(next: F): F {
    if (typeof next !== 'function')
      throw new TypeError(`withOAuthSession(session)(next): next must be a fetch function, got ${typeof next}`);
    const origin = new URL(session.serverUrl).origin;
    const sessionTokens = new SessionTokens();
    return async function fetchWithOAuth(input: string | URL | Request, init?: RequestInit): Promise<Response> {
      const request = await capture(input, init);
      // The token is for this server (RFC 8707 audience): a request to another origin, through a
      // fetch shared by several servers say, goes as it came, without it.
      if (URL.canParse(request.url) && new URL(request.url).origin !== origin) return next(request.url, request.init);
      const send = (token: string | undefined) => {
        // No token (a server that never asked): the request goes as it came.
        if (token === undefined) return next(request.url, request.init);
        const headers = new Headers(request.init.headers);
        headers.set('authorization', `Bearer ${token}`);
        return next(request.url, { ...request.init, headers });
      };
      const body = typeof request.init.body === 'string' ? request.init.body : undefined;
      const mayInteract = interactive({ method: request.method, url: request.url, body });
      const mcpSession = headerOf(request.url, request.init, 'mcp-session-id');
      let token = await session.accessToken();
      let response = await send(token);
      let renewed = false;
      let stepUps = 0;
      for (;;) {
        if (response.status === 401 && mcpSession !== null) {
          const judged = await readSessionRefusal(response, {
            method: request.method,
            credentialsAccepted: sessionTokens.has(mcpSession, token),
          });
          if (judged.sessionLost) return judged.response;
          response = judged.response;
        }
        const stepUp = isInsufficientScope(response) && stepUps < maxStepUps;
        // A 401 without a Bearer challenge, to a request without a token, is not an OAuth server
        // asking for a sign-in (an API key is missing, say): left to the caller.
        const unauthorized = response.status === 401 && !renewed && (token !== undefined || isBearerChallenge(response));
        if (!(stepUp || unauthorized) || !request.replayable) break;
        const challenge = readChallenge(response);
        await response.body?.cancel().catch(() => {});
        token = await session.renew({ rejected: token, challenge, interactive: mayInteract, stepUp });
        if (stepUp) stepUps += 1;
        else renewed = true;
        response = await send(token);
      }
      // The session that answered (or that an initialize opened) accepted this token.
      const answeredOn = response.ok ? (mcpSession ?? response.headers.get('mcp-session-id')) : null;
      if (answeredOn !== null) sessionTokens.accepted(answeredOn, token);
      if (response.status === 401 && renewed && mcpSession !== null && !isInvalidToken(response)) {
        // A token just renewed, refused on a session without being called invalid: the session may
        // be what is gone. Session recovery asks a new session, which tells for certain.
        sessionTokens.refusedAfterRenewal(mcpSession, token);
        return response;
      }
      if ((response.status === 401 && renewed) || (isInsufficientScope(response) && stepUps > 0)) {
        const challenge = readChallenge(response);
        await response.body?.cancel().catch(() => {});
        const said = challenge.errorDescription ?? challenge.error;
        throw new SignInError(
          'STILL_UNAUTHORIZED',
          `${session.serverUrl} refused the new token too: HTTP ${response.status}${said ? ` (${said})` : ''}` +
            (response.status === 403 ? `; the scope it asks for is "${challenge.scope ?? '?'}"` : ''),
        );
      }
      return response;
    } as F;
  };
}

/** A challenge that calls the token itself invalid (RFC 6750 §3.1). */
function isInvalidToken(response: Response): boolean {
  return challengeError(response.headers.get('www-authenticate')) === 'invalid_token';
}

/** The default of {@linkcode WithOAuthSessionOptions.interactive}: a POST that is not a `ping`. */
function isUserRequest(request: AuthorizedRequest): boolean {
  if (request.method !== 'POST') return false;
  if (request.body === undefined || !request.body.includes('"ping"')) return true;
  const parsed = parseJson(request.body);
  return parsed instanceof NotJson || (parsed as { method?: unknown } | null)?.method !== 'ping';
}

interface CapturedRequest {
  readonly url: string;
  readonly method: string;
  readonly init: RequestInit;
  /** False for a stream body, which cannot be sent twice. */
  readonly replayable: boolean;
}

async function capture(input: string | URL | Request, init: RequestInit | undefined): Promise<CapturedRequest> {
  if (typeof input === 'string' || input instanceof URL) {
    const url = typeof input === 'string' ? input : input.href;
    return { url, method: (init?.method ?? 'GET').toUpperCase(), init: init ?? {}, replayable: isReplayable(init?.body) };
  }
  // A Request: its body is read once into bytes, so it can be sent twice.
  const body = init?.body !== undefined ? init.body : input.body === null ? null : new Uint8Array(await input.arrayBuffer());
  const merged: RequestInit = {
    method: input.method,
    headers: input.headers,
    signal: input.signal,
    redirect: input.redirect,
    ...init,
    body,
  };
  return { url: input.url, method: (merged.method ?? 'GET').toUpperCase(), init: merged, replayable: isReplayable(body) };
}

function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    ArrayBuffer.isView(body) ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}
