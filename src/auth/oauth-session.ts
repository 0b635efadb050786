import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { canonicalServerUrl } from './canonical-server-url.js';
import type { Challenge } from './challenge.js';
import { readChallenge } from './challenge.js';
import { createOAuthStore } from './oauth-store.js';
import { type OAuthEvent, type OAuthSessionOptions, resolveSessionOptions, type SignInPrompt } from './session-options.js';
import { createSignInFetch } from './sign-in-fetch.js';
import { type RenewRequest, SignInRenewal, type SignInResult, type SignOutResult } from './sign-in-renewal.js';
import { StoredSignIn } from './stored-sign-in.js';

export type { RenewRequest, SignInResult, SignOutResult } from './sign-in-renewal.js';

/**
 * Sign-in to one MCP server: the store, the cross-process lease, the browser and loopback
 * callback (or the device flow), on top of the SDK's OAuth protocol code. Also an SDK v2
 * `AuthProvider` (`token()`, `onUnauthorized()`), and carries the SDK `OAuthClientProvider` over
 * the same store as `provider`.
 */
export interface OAuthSession {
  /** The canonical server URL sign-ins are stored under. */
  readonly serverUrl: string;
  /** The SDK's `OAuthClientProvider` over this session's store (for `authProvider` or the SDK's `withOAuth`). */
  readonly provider: OAuthClientProvider;
  /** The stored access token, refreshed first when it expires soon; undefined when not signed in. Never opens a browser. */
  accessToken(): Promise<string | undefined>;
  /** A token to replace a refused one: another process's, a refreshed one, or (interactive) a new sign-in. */
  renew(request: RenewRequest): Promise<string>;
  /** Signs in now unless a valid sign-in is stored (`force` signs in anew). */
  signIn(options?: { readonly force?: boolean; readonly challenge?: Challenge }): Promise<SignInResult>;
  /** Revokes the stored tokens where the server supports it (RFC 7009), then deletes them. */
  signOut(): Promise<SignOutResult>;
  /** SDK v2 `AuthProvider.token()`. */
  token(): Promise<string | undefined>;
  /** SDK v2 `AuthProvider.onUnauthorized()`: a refreshed token, or a new sign-in. */
  onUnauthorized(context: { readonly response: Response }): Promise<void>;
}

/**
 * Creates a {@linkcode OAuthSession}; throws a TypeError for a bad option. Its methods work
 * detached (`const { token } = session`): they call into the session's state, which is one
 * {@linkcode SignInRenewal} over one {@linkcode StoredSignIn}.
 */
export function createOAuthSession(options: OAuthSessionOptions): OAuthSession {
  const config = resolveSessionOptions(options);
  const serverUrl = canonicalServerUrl(options.serverUrl);
  const emit = (event: OAuthEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure must not fail a request.
    }
  };
  const prompt = (value: SignInPrompt) => {
    try {
      options.onPrompt?.(value);
    } catch {
      // As for events.
    }
  };
  const store =
    options.store ?? createOAuthStore(undefined, { onRepair: ({ directory, mode }) => emit({ type: 'store-repaired', directory, mode }) });
  const fetchFn: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  // Every request to the authorization server and for metadata: bounded in time and size, https only.
  const signInFetch = createSignInFetch({
    fetch: fetchFn,
    serverUrl,
    requestTimeoutMs: config.requestTimeoutMs,
    maxDocumentBytes: config.maxDocumentBytes,
  });
  const stored = new StoredSignIn({ serverUrl, store, config, fetch: signInFetch, emit });
  const renewal = new SignInRenewal({ serverUrl, store, config, fetch: signInFetch, stored, emit, prompt });
  return {
    serverUrl,
    provider: renewal.provider,
    accessToken: () => renewal.accessToken(),
    renew: (request) => renewal.renew(request),
    signIn: (signInOptions = {}) => renewal.signIn(signInOptions),
    signOut: () => renewal.signOut(),
    token: () => renewal.token(),
    onUnauthorized: async ({ response }) => {
      await renewal.unauthorized(readChallenge(response));
    },
  };
}
