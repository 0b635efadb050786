import { auth, type OAuthClientProvider, type OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { runBrowserSignIn } from './browser-sign-in.js';
import { canonicalServerUrl } from './canonical-server-url.js';
import type { Challenge } from './challenge.js';
import { readChallenge } from './challenge.js';
import { runDeviceSignIn } from './device-sign-in.js';
import { checkDiscovery, discoverSignIn } from './discovery.js';
import { type HeldLease, withLease } from './lease.js';
import { createOAuthStore, emptyRecord, type ServerRecord, type StoredGrant, type StoredTokens } from './oauth-store.js';
import { refreshGrant } from './refresh-grant.js';
import { isSignInError, SignInError } from './SignInError.js';
import { unionScopes, widensScope } from './scopes.js';
import {
  type OAuthEvent,
  type OAuthSessionOptions,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SignInPrompt,
} from './session-options.js';
import type { SignInContext, SignInRequest } from './sign-in-context.js';
import { signInErrorText as describe } from './sign-in-error-text.js';
import { createSignInFetch } from './sign-in-fetch.js';
import { revokeRecord } from './sign-out.js';
import { type ActiveSignIn, createStoreProvider, currentGrant } from './store-provider.js';
import { toStoredTokens } from './token-response.js';

/** Why a request needs a new token. */
export interface RenewRequest {
  /** The token the server refused (or undefined when none was sent). */
  readonly rejected: string | undefined;
  /** The server's `WWW-Authenticate` challenge. */
  readonly challenge?: Challenge | undefined;
  /** Whether a browser may open (or a device code be shown) if a new sign-in is needed. */
  readonly interactive: boolean;
  /** A 403 `insufficient_scope`: authorize anew for the union of the scopes. */
  readonly stepUp?: boolean | undefined;
  /**
   * At most this long, in ms, for another process that holds the lease (its sign-in or refresh);
   * then a `LEASE_TIMEOUT` SignInError. @default signInTimeoutMs + 30_000
   */
  readonly waitMs?: number | undefined;
}

/** The outcome of {@linkcode OAuthSession.signIn}. */
export interface SignInResult {
  /** `signed-in`: a new sign-in; `refreshed` or `valid`: the stored one was enough. */
  readonly outcome: 'signed-in' | 'refreshed' | 'valid';
  readonly scope: string | undefined;
  readonly expiresAt: number | undefined;
}

/** The outcome of {@linkcode OAuthSession.signOut}. */
export interface SignOutResult {
  /** Whether anything was stored. */
  readonly removed: boolean;
  /** Tokens revoked at the authorization server (RFC 7009), e.g. `refresh token`. */
  readonly revoked: readonly string[];
  /** Why a token was not revoked (no revocation endpoint, the server refused); it is deleted all the same. */
  readonly notRevoked: readonly string[];
}

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

/** How long a look at the store stays fresh for requests that only need the current token. */
const STORE_RECHECK_MS = 1000;

/** Creates a {@linkcode OAuthSession}; throws a TypeError for a bad option. */
export function createOAuthSession(options: OAuthSessionOptions): OAuthSession {
  const config: ResolvedSessionOptions = resolveSessionOptions(options);
  const serverUrl = canonicalServerUrl(options.serverUrl);
  const store =
    options.store ?? createOAuthStore(undefined, { onRepair: ({ directory, mode }) => emit({ type: 'store-repaired', directory, mode }) });
  const file = store.fileOf(serverUrl);
  const fetchFn: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  // Every request to the authorization server and for metadata: bounded in time and size, https only.
  const signInFetch = createSignInFetch({
    fetch: fetchFn,
    serverUrl,
    requestTimeoutMs: config.requestTimeoutMs,
    maxDocumentBytes: config.maxDocumentBytes,
  });

  let cached: { record: ServerRecord; mtimeMs: number | undefined; checkedAt?: number } | undefined;
  // Inside our own lease: the record in memory is the truth, and no refresh may start from tokens().
  // Waiting processes read what the lease says of this holder (its bound, the user's prompt).
  let held: HeldLease | undefined;
  let active: ActiveSignIn | undefined;
  let renewing: Promise<string> | undefined;
  let exclusive: Promise<unknown> = Promise.resolve();
  let lastFailure: { at: number; error: SignInError } | undefined;
  let lastHanded: string | undefined;

  const emit = (event: OAuthEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's failure must not fail a request.
    }
  };
  const prompt = (value: SignInPrompt) => {
    held?.describe({ until: value.expiresAt, prompt: value }).catch(() => {});
    try {
      options.onPrompt?.(value);
    } catch {
      // As for events.
    }
  };

  async function load(): Promise<ServerRecord> {
    if (held !== undefined && cached !== undefined) return cached.record;
    // Every request asks for the token: the store is looked at (a stat) at most once a second, not
    // per request. What another process wrote in that second is found when the server answers 401:
    // renewing reads the store again under the lease.
    const now = Date.now();
    if (cached?.checkedAt !== undefined && now - cached.checkedAt < STORE_RECHECK_MS) return cached.record;
    const mtimeMs = await store.mtimeOf(serverUrl);
    if (cached !== undefined && cached.mtimeMs === mtimeMs) {
      cached.checkedAt = now;
      return cached.record;
    }
    const read = await store.read(serverUrl);
    cached = { ...(read ?? { record: emptyRecord(serverUrl), mtimeMs }), checkedAt: now };
    return vetStoredDiscovery(cached.record);
  }

  /**
   * A stored discovery passes the same checks as a new one before its tokens are sent or
   * refreshed (a store written by an older version, or by hand); one that fails is forgotten, so
   * the next sign-in discovers anew and says why it refuses.
   */
  function vetStoredDiscovery(record: ServerRecord): ServerRecord {
    if (record.discovery === undefined) return record;
    try {
      checkDiscovery(serverUrl, record.discovery);
    } catch (error) {
      record.discovery = undefined;
      emit({ type: 'stored-sign-in-refused', message: (error as Error).message });
    }
    return record;
  }

  /** The record's discovery, or a new one (checked, and stored): the start of every flow. */
  async function ensureDiscovery(record: ServerRecord, resourceMetadataUrl: URL | undefined): Promise<OAuthDiscoveryState> {
    if (record.discovery !== undefined) return record.discovery;
    const found = await discoverSignIn(serverUrl, { resourceMetadataUrl, fetch: signInFetch });
    record.discovery = found;
    await save(record);
    return found;
  }

  async function save(record: ServerRecord): Promise<void> {
    cached = { record, mtimeMs: await store.write(record) };
  }

  const provider = createStoreProvider({
    serverUrl,
    flow: config.flow,
    staticClient: config.staticClient,
    clientMetadata: config.clientMetadata,
    clientMetadataUrl: config.clientMetadataUrl,
    load,
    save,
    activeSignIn: () => active,
    async beforeTokensRead() {
      if (held === undefined && active === undefined) await accessToken();
    },
  });

  /** What the browser and device flows use of this session. */
  const flowContext: SignInContext = {
    serverUrl,
    config,
    provider,
    fetch: signInFetch,
    load,
    save,
    discover: ensureDiscovery,
    storeTokens,
    setActive: (signIn) => {
      active = signIn;
    },
    emit,
    prompt,
  };

  /** Runs `work` holding the lease, one operation at a time in this process, on a freshly read record. */
  function underLease<T>(
    purpose: string,
    work: (record: ServerRecord, waited: { since: number } | undefined) => Promise<T>,
    waitMs = config.signInTimeoutMs + 30_000,
  ): Promise<T> {
    const run = async () => {
      let waited: { since: number } | undefined;
      const since = Date.now();
      return withLease(
        file,
        {
          waitMs,
          purpose,
          onWait: (owner) => {
            waited = { since };
            emit({ type: 'waiting', pid: owner?.pid, purpose: owner?.purpose, until: owner?.until, prompt: owner?.prompt });
          },
        },
        async (lease) => {
          try {
            // Another process may have written while we waited: read it again, then keep it in memory.
            cached = undefined;
            // (load() below reads the store: no recheck window applies to an empty cache.)
            const record = await load();
            held = lease;
            return await work(record, waited);
          } finally {
            held = undefined;
          }
        },
      );
    };
    const result = exclusive.then(run, run);
    exclusive = result.catch(() => {});
    return result;
  }

  function expiresSoon(tokens: StoredTokens): boolean {
    if (tokens.expires_at === undefined) return false;
    const ahead = Math.min(config.refreshAheadMs, (tokens.expires_at - tokens.obtained_at) / 5);
    return Date.now() >= tokens.expires_at - ahead;
  }

  async function storeTokens(record: ServerRecord, tokens: OAuthTokens, scope: string | undefined): Promise<string> {
    const issuer = record.discovery?.authorizationServerUrl;
    const grant = currentGrant(record);
    if (issuer === undefined || grant === undefined) throw new Error('tokens without a discovered authorization server');
    grant.tokens = { ...toStoredTokens(tokens, Date.now()), issuer };
    if (scope !== undefined) grant.scope = scope;
    await save(record);
    return tokens.access_token;
  }

  async function accessToken(): Promise<string | undefined> {
    const tokens = currentGrant(await load())?.tokens;
    if (tokens === undefined) return undefined;
    if (!expiresSoon(tokens)) return tokens.access_token;
    try {
      return await renew({ rejected: tokens.access_token, interactive: false });
    } catch {
      // Refresh failed (the server is down, or the refresh token is dead): use what is left of
      // the token; an expired one is not sent, so the server's 401 says what it wants.
      return tokens.expires_at !== undefined && tokens.expires_at > Date.now() ? tokens.access_token : undefined;
    }
  }

  async function renew(request: RenewRequest): Promise<string> {
    // Share a renewal in flight, unless this is a step-up, which needs more than a plain renewal gives.
    if (renewing !== undefined && !request.stepUp) {
      try {
        return await renewing;
      } catch (error) {
        // A background refresh that could not sign in does not stop an interactive request from doing it.
        if (!(request.interactive && isSignInError(error) && error.code === 'SIGN_IN_REQUIRED')) throw error;
      }
    }
    const tokens = currentGrant(await load())?.tokens;
    if (tokens !== undefined && tokens.access_token !== request.rejected && !expiresSoon(tokens)) return tokens.access_token;
    const attempt = underLease(
      request.interactive ? 'sign-in' : 'refresh',
      (record, waited) => renewHeld(record, waited, request),
      request.waitMs,
    );
    renewing = attempt;
    try {
      return await attempt;
    } finally {
      if (renewing === attempt) renewing = undefined;
    }
  }

  async function renewHeld(record: ServerRecord, waited: { since: number } | undefined, request: RenewRequest): Promise<string> {
    const { challenge } = request;
    if (challenge?.resourceMetadataUrl !== undefined && record.discovery?.resourceMetadataUrl !== undefined) {
      // The server points elsewhere than where we found it: discover anew.
      if (record.discovery.resourceMetadataUrl !== challenge.resourceMetadataUrl.href) record.discovery = undefined;
    }
    const grant = currentGrant(record);
    const tokens = grant?.tokens;
    // Another process (or request) replaced the refused token while we waited: take it.
    if (tokens !== undefined && tokens.access_token !== request.rejected && !expiresSoon(tokens)) {
      emit({ type: 'token-adopted' });
      return tokens.access_token;
    }
    const wanted = request.stepUp ? unionScopes(grant?.scope, tokens?.scope, challenge?.scope) : challenge?.scope;
    if (request.stepUp) emit({ type: 'step-up', scope: wanted });
    // A refresh cannot widen the scope (RFC 6749 §6): a step-up that needs more signs in anew.
    const canRefresh = tokens?.refresh_token !== undefined && !(request.stepUp && widensScope(wanted, tokens.scope ?? grant?.scope));
    if (canRefresh && grant !== undefined && tokens !== undefined) {
      const refreshed = await refresh(record, grant, tokens);
      if (refreshed !== undefined) return refreshed;
    }
    if (config.flow === 'client-credentials') return clientCredentials(wanted, challenge);
    if (!request.interactive) {
      throw new SignInError('SIGN_IN_REQUIRED', `not signed in to ${serverUrl}: run mcp-lifeline login ${serverUrl}`);
    }
    // A sign-in that failed while we waited for it, or moments ago in any process: share its
    // outcome rather than open another window (no tab floods from hosts that retry).
    const last = record.lastSignIn;
    if (
      last !== undefined &&
      !last.ok &&
      ((waited !== undefined && last.at >= waited.since) || Date.now() - last.at < config.signInCooldownMs)
    ) {
      const error = new SignInError(
        (last.code as SignInError['code'] | undefined) ?? 'SIGN_IN_FAILED',
        `${last.message ?? 'sign-in failed'}${last.pid === process.pid ? '' : ` (the sign-in ran in process ${last.pid})`}`,
      );
      throw error;
    }
    return signInHeld(record, { scope: wanted, resourceMetadataUrl: challenge?.resourceMetadataUrl });
  }

  /** Refreshes; undefined when the refresh token is no longer accepted (then it is deleted). */
  function refresh(record: ServerRecord, grant: StoredGrant, tokens: StoredTokens): Promise<string | undefined> {
    return refreshGrant(flowContext, { record, grant, tokens });
  }

  /** Signs in (browser or device flow) while holding the lease; records the outcome for waiters. */
  async function signInHeld(record: ServerRecord, request: SignInRequest): Promise<string> {
    if (lastFailure !== undefined && Date.now() - lastFailure.at < config.signInCooldownMs) throw lastFailure.error;
    const started = Date.now();
    held?.describe({ until: started + config.signInTimeoutMs }).catch(() => {});
    emit({ type: 'sign-in-started', flow: config.flow, scope: request.scope });
    try {
      const token =
        config.flow === 'device' ? await runDeviceSignIn(flowContext, record, request) : await runBrowserSignIn(flowContext, request);
      const after = await load();
      after.lastSignIn = { at: Date.now(), pid: process.pid, ok: true };
      await save(after);
      emit({ type: 'signed-in', flow: config.flow, ms: Date.now() - started, scope: currentGrant(after)?.scope });
      lastFailure = undefined;
      return token;
    } catch (error) {
      const failure = isSignInError(error)
        ? error
        : new SignInError('SIGN_IN_FAILED', `sign-in to ${serverUrl} failed: ${describe(error)}`, { cause: error });
      const after = await load();
      after.lastSignIn = { at: Date.now(), pid: process.pid, ok: false, code: failure.code, message: failure.message };
      await save(after);
      lastFailure = { at: Date.now(), error: failure };
      emit({ type: 'sign-in-failed', code: failure.code, message: failure.message });
      throw failure;
    }
  }

  async function clientCredentials(scope: string | undefined, challenge: Challenge | undefined): Promise<string> {
    active = { redirectUrl: undefined, state: '', scope, hideTokens: true, redirect: async () => {} };
    try {
      await ensureDiscovery(await load(), challenge?.resourceMetadataUrl);
      await auth(provider, {
        serverUrl,
        fetchFn: signInFetch,
        ...(scope ? { scope } : {}),
        ...(challenge?.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}),
      });
    } catch (error) {
      if (isSignInError(error)) throw error;
      throw new SignInError('SIGN_IN_FAILED', `client-credentials sign-in to ${serverUrl} failed: ${describe(error)}`, { cause: error });
    } finally {
      active = undefined;
    }
    const token = currentGrant(await load())?.tokens?.access_token;
    if (token === undefined) throw new SignInError('SIGN_IN_FAILED', `client-credentials sign-in to ${serverUrl} ended without a token`);
    return token;
  }

  return {
    serverUrl,
    provider,
    accessToken,
    renew,
    signIn: (signInOptions = {}) =>
      underLease('sign-in', async (record) => {
        const grant = currentGrant(record);
        const tokens = grant?.tokens;
        if (!signInOptions.force && tokens !== undefined && grant !== undefined) {
          if (!expiresSoon(tokens)) return { outcome: 'valid' as const, scope: grant.scope ?? tokens.scope, expiresAt: tokens.expires_at };
          if ((await refresh(record, grant, tokens)) !== undefined) {
            return { outcome: 'refreshed' as const, scope: grant.scope ?? tokens.scope, expiresAt: grant.tokens?.expires_at };
          }
        }
        const challenge = signInOptions.challenge;
        if (config.flow === 'client-credentials') await clientCredentials(challenge?.scope, challenge);
        else await signInHeld(record, { scope: challenge?.scope, resourceMetadataUrl: challenge?.resourceMetadataUrl });
        const after = currentGrant(await load());
        return { outcome: 'signed-in' as const, scope: after?.scope ?? after?.tokens?.scope, expiresAt: after?.tokens?.expires_at };
      }),
    signOut: () =>
      underLease('logout', async () => {
        // As stored, checks aside: tokens sent where they should not have been are revoked too.
        const stored = (await store.read(serverUrl))?.record;
        const { revoked, notRevoked } =
          stored === undefined
            ? { revoked: [], notRevoked: [] }
            : await revokeRecord(stored, { staticClient: config.staticClient, fetch: signInFetch });
        const removed = await store.remove(serverUrl);
        cached = undefined;
        return { removed, revoked, notRevoked };
      }),
    async token() {
      lastHanded = await accessToken();
      return lastHanded;
    },
    async onUnauthorized({ response }) {
      lastHanded = await renew({ rejected: lastHanded, challenge: readChallenge(response), interactive: true });
    },
  };
}
