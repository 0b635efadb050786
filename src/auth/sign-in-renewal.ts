import { auth, type OAuthClientProvider, refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { runBrowserSignIn } from './browser-sign-in.js';
import type { Challenge } from './challenge.js';
import { runDeviceSignIn } from './device-sign-in.js';
import type { OAuthStore, ServerRecord, StoredGrant, StoredTokens } from './oauth-store.js';
import { isSignInError, SignInError } from './SignInError.js';
import { unionScopes, widensScope } from './scopes.js';
import type { OAuthEvent, ResolvedSessionOptions, SignInPrompt } from './session-options.js';
import type { SignInContext, SignInRequest } from './sign-in-context.js';
import { signInErrorText as describe } from './sign-in-error-text.js';
import { revokeRecord } from './sign-out.js';
import { type ActiveSignIn, createStoreProvider, currentGrant } from './store-provider.js';
import type { StoredSignIn } from './stored-sign-in.js';

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

/** What {@linkcode SignInRenewal} works with. */
export interface RenewalPlan {
  readonly serverUrl: string;
  readonly store: OAuthStore;
  readonly config: ResolvedSessionOptions;
  /** The fetch of every sign-in request: https only, bounded in time and size. */
  readonly fetch: FetchLike;
  readonly stored: StoredSignIn;
  readonly emit: (event: OAuthEvent) => void;
  readonly prompt: (prompt: SignInPrompt) => void;
}

/**
 * How one session gets a token: the stored one, a refreshed one, one another process or request
 * just got, or a new sign-in (browser, device, or client credentials), under the lease. Its state:
 * the sign-in the SDK provider serves now, the renewal in flight (shared), the last failure (so a
 * host that retries does not open a window per try), and the token last handed to the SDK.
 */
export class SignInRenewal {
  readonly provider: OAuthClientProvider;
  private active: ActiveSignIn | undefined;
  private renewing: Promise<string> | undefined;
  private lastFailure: { at: number; error: SignInError } | undefined;
  private lastHanded: string | undefined;
  private readonly plan: RenewalPlan;
  private readonly flowContext: SignInContext;

  constructor(plan: RenewalPlan) {
    this.plan = plan;
    const { serverUrl, config, stored } = plan;
    this.provider = createStoreProvider({
      serverUrl,
      flow: config.flow,
      staticClient: config.staticClient,
      clientMetadata: config.clientMetadata,
      clientMetadataUrl: config.clientMetadataUrl,
      load: () => stored.load(),
      save: (record) => stored.save(record),
      activeSignIn: () => this.active,
      beforeTokensRead: async () => {
        if (!stored.leased && this.active === undefined) await this.accessToken();
      },
    });
    // What the browser and device flows use of this session.
    this.flowContext = {
      serverUrl,
      config,
      provider: this.provider,
      fetch: plan.fetch,
      load: () => stored.load(),
      save: (record) => stored.save(record),
      discover: (record, resourceMetadataUrl) => stored.ensureDiscovery(record, resourceMetadataUrl),
      storeTokens: (record, tokens, scope) => stored.storeTokens(record, tokens, scope),
      setActive: (signIn) => {
        this.active = signIn;
      },
      emit: plan.emit,
      // Told to the user, and to the processes waiting for this sign-in (through the lease).
      prompt: (prompt) => {
        stored.describeLease({ until: prompt.expiresAt, prompt });
        plan.prompt(prompt);
      },
    };
  }

  /** The stored access token, refreshed first when it expires soon; undefined when not signed in. Never opens a browser. */
  async accessToken(): Promise<string | undefined> {
    const { stored } = this.plan;
    const tokens = currentGrant(await stored.load())?.tokens;
    if (tokens === undefined) return undefined;
    if (!stored.expiresSoon(tokens)) return tokens.access_token;
    try {
      return await this.renew({ rejected: tokens.access_token, interactive: false });
    } catch {
      // Refresh failed (the server is down, or the refresh token is dead): use what is left of
      // the token; an expired one is not sent, so the server's 401 says what it wants.
      return tokens.expires_at !== undefined && tokens.expires_at > Date.now() ? tokens.access_token : undefined;
    }
  }

  /** SDK v2 `AuthProvider.token()`: the token handed to the SDK is remembered, to know which one it refused. */
  async token(): Promise<string | undefined> {
    this.lastHanded = await this.accessToken();
    return this.lastHanded;
  }

  /** SDK v2 `AuthProvider.onUnauthorized()`: the handed token was refused. */
  async unauthorized(challenge: Challenge | undefined): Promise<void> {
    this.lastHanded = await this.renew({ rejected: this.lastHanded, challenge, interactive: true });
  }

  /** A token to replace a refused one: another process's, a refreshed one, or (interactive) a new sign-in. */
  async renew(request: RenewRequest): Promise<string> {
    const { stored } = this.plan;
    // Share a renewal in flight, unless this is a step-up, which needs more than a plain renewal gives.
    if (this.renewing !== undefined && !request.stepUp) {
      try {
        return await this.renewing;
      } catch (error) {
        // A background refresh that could not sign in does not stop an interactive request from doing it.
        if (!(request.interactive && isSignInError(error) && error.code === 'SIGN_IN_REQUIRED')) throw error;
      }
    }
    const tokens = currentGrant(await stored.load())?.tokens;
    if (tokens !== undefined && tokens.access_token !== request.rejected && !stored.expiresSoon(tokens)) return tokens.access_token;
    const attempt = stored.underLease(
      request.interactive ? 'sign-in' : 'refresh',
      (record, waited) => this.renewHeld(record, waited, request),
      request.waitMs,
    );
    this.renewing = attempt;
    try {
      return await attempt;
    } finally {
      if (this.renewing === attempt) this.renewing = undefined;
    }
  }

  /** Signs in now unless a valid sign-in is stored (`force` signs in anew). */
  signIn(options: { readonly force?: boolean; readonly challenge?: Challenge }): Promise<SignInResult> {
    const { stored, config } = this.plan;
    return stored.underLease('sign-in', async (record) => {
      const grant = currentGrant(record);
      const tokens = grant?.tokens;
      if (!options.force && tokens !== undefined && grant !== undefined) {
        if (!stored.expiresSoon(tokens))
          return { outcome: 'valid' as const, scope: grant.scope ?? tokens.scope, expiresAt: tokens.expires_at };
        if ((await this.refresh(record, grant, tokens)) !== undefined) {
          return { outcome: 'refreshed' as const, scope: grant.scope ?? tokens.scope, expiresAt: grant.tokens?.expires_at };
        }
      }
      const challenge = options.challenge;
      if (config.flow === 'client-credentials') await this.clientCredentials(challenge?.scope, challenge);
      else await this.signInHeld(record, { scope: challenge?.scope, resourceMetadataUrl: challenge?.resourceMetadataUrl });
      const after = currentGrant(await stored.load());
      return { outcome: 'signed-in' as const, scope: after?.scope ?? after?.tokens?.scope, expiresAt: after?.tokens?.expires_at };
    });
  }

  /** Revokes the stored tokens where the server supports it (RFC 7009), then deletes them. */
  signOut(): Promise<SignOutResult> {
    const { stored, store, serverUrl, config } = this.plan;
    return stored.underLease('logout', async () => {
      // As stored, checks aside: tokens sent where they should not have been are revoked too.
      const record = (await store.read(serverUrl))?.record;
      const { revoked, notRevoked } =
        record === undefined
          ? { revoked: [], notRevoked: [] }
          : await revokeRecord(record, { staticClient: config.staticClient, fetch: this.plan.fetch });
      const removed = await store.remove(serverUrl);
      stored.forget();
      return { removed, revoked, notRevoked };
    });
  }

  private async renewHeld(record: ServerRecord, waited: { since: number } | undefined, request: RenewRequest): Promise<string> {
    const { serverUrl, config, stored, emit } = this.plan;
    const { challenge } = request;
    if (challenge?.resourceMetadataUrl !== undefined && record.discovery?.resourceMetadataUrl !== undefined) {
      // The server points elsewhere than where we found it: discover anew.
      if (record.discovery.resourceMetadataUrl !== challenge.resourceMetadataUrl.href) record.discovery = undefined;
    }
    const grant = currentGrant(record);
    const tokens = grant?.tokens;
    // Another process (or request) replaced the refused token while we waited: take it.
    if (tokens !== undefined && tokens.access_token !== request.rejected && !stored.expiresSoon(tokens)) {
      emit({ type: 'token-adopted' });
      return tokens.access_token;
    }
    const wanted = request.stepUp ? unionScopes(grant?.scope, tokens?.scope, challenge?.scope) : challenge?.scope;
    if (request.stepUp) emit({ type: 'step-up', scope: wanted });
    // A refresh cannot widen the scope (RFC 6749 §6): a step-up that needs more signs in anew.
    const canRefresh = tokens?.refresh_token !== undefined && !(request.stepUp && widensScope(wanted, tokens.scope ?? grant?.scope));
    if (canRefresh && grant !== undefined && tokens !== undefined) {
      const refreshed = await this.refresh(record, grant, tokens);
      if (refreshed !== undefined) return refreshed;
    }
    if (config.flow === 'client-credentials') return this.clientCredentials(wanted, challenge);
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
      throw new SignInError(
        (last.code as SignInError['code'] | undefined) ?? 'SIGN_IN_FAILED',
        `${last.message ?? 'sign-in failed'}${last.pid === process.pid ? '' : ` (the sign-in ran in process ${last.pid})`}`,
      );
    }
    return this.signInHeld(record, { scope: wanted, resourceMetadataUrl: challenge?.resourceMetadataUrl });
  }

  /** Refreshes; undefined when the refresh token is no longer accepted (then it is deleted). */
  private async refresh(record: ServerRecord, grant: StoredGrant, tokens: StoredTokens): Promise<string | undefined> {
    const { serverUrl, config, stored, emit } = this.plan;
    const discovery = record.discovery;
    const client = config.staticClient ?? grant.client;
    if (discovery === undefined || client === undefined || tokens.refresh_token === undefined) return undefined;
    const started = Date.now();
    try {
      const fresh = await refreshAuthorization(discovery.authorizationServerUrl, {
        ...(discovery.authorizationServerMetadata ? { metadata: discovery.authorizationServerMetadata } : {}),
        clientInformation: client,
        refreshToken: tokens.refresh_token,
        // As the SDK's auth() sends it: the metadata's resource, verbatim.
        ...(discovery.resourceMetadata ? { resource: discovery.resourceMetadata.resource } : {}),
        fetchFn: this.plan.fetch,
      });
      const token = await stored.storeTokens(record, fresh, undefined);
      emit({ type: 'refreshed', ms: Date.now() - started });
      return token;
    } catch (error) {
      if (error instanceof OAuthError && (error.errorCode === 'invalid_grant' || error.errorCode === 'invalid_client')) {
        grant.tokens = undefined;
        if (error.errorCode === 'invalid_client' && config.staticClient === undefined) grant.client = undefined;
        await stored.save(record);
        emit({ type: 'refresh-rejected', message: describe(error) });
        return undefined;
      }
      if (isSignInError(error)) throw error;
      throw new SignInError('SIGN_IN_FAILED', `could not refresh the token for ${serverUrl}: ${describe(error)}`, { cause: error });
    }
  }

  /** Signs in (browser or device flow) while holding the lease; records the outcome for waiters. */
  private async signInHeld(record: ServerRecord, request: SignInRequest): Promise<string> {
    const { serverUrl, config, stored, emit } = this.plan;
    if (this.lastFailure !== undefined && Date.now() - this.lastFailure.at < config.signInCooldownMs) throw this.lastFailure.error;
    const started = Date.now();
    stored.describeLease({ until: started + config.signInTimeoutMs });
    emit({ type: 'sign-in-started', flow: config.flow, scope: request.scope });
    try {
      const token =
        config.flow === 'device'
          ? await runDeviceSignIn(this.flowContext, record, request)
          : await runBrowserSignIn(this.flowContext, request);
      const after = await stored.load();
      after.lastSignIn = { at: Date.now(), pid: process.pid, ok: true };
      await stored.save(after);
      emit({ type: 'signed-in', flow: config.flow, ms: Date.now() - started, scope: currentGrant(after)?.scope });
      this.lastFailure = undefined;
      return token;
    } catch (error) {
      const failure = isSignInError(error)
        ? error
        : new SignInError('SIGN_IN_FAILED', `sign-in to ${serverUrl} failed: ${describe(error)}`, { cause: error });
      const after = await stored.load();
      after.lastSignIn = { at: Date.now(), pid: process.pid, ok: false, code: failure.code, message: failure.message };
      await stored.save(after);
      this.lastFailure = { at: Date.now(), error: failure };
      emit({ type: 'sign-in-failed', code: failure.code, message: failure.message });
      throw failure;
    }
  }

  private async clientCredentials(scope: string | undefined, challenge: Challenge | undefined): Promise<string> {
    const { serverUrl, stored } = this.plan;
    this.active = { redirectUrl: undefined, state: '', scope, hideTokens: true, redirect: async () => {} };
    try {
      await stored.ensureDiscovery(await stored.load(), challenge?.resourceMetadataUrl);
      await auth(this.provider, {
        serverUrl,
        fetchFn: this.plan.fetch,
        ...(scope ? { scope } : {}),
        ...(challenge?.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}),
      });
    } catch (error) {
      if (isSignInError(error)) throw error;
      throw new SignInError('SIGN_IN_FAILED', `client-credentials sign-in to ${serverUrl} failed: ${describe(error)}`, { cause: error });
    } finally {
      this.active = undefined;
    }
    const token = currentGrant(await stored.load())?.tokens?.access_token;
    if (token === undefined) throw new SignInError('SIGN_IN_FAILED', `client-credentials sign-in to ${serverUrl} ended without a token`);
    return token;
  }
}
