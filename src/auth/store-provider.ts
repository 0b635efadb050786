import { randomBytes } from 'node:crypto';
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { CALLBACK_PATH } from './callback-server.js';
import { checkDiscovery } from './discovery.js';
import { grantKey, type ServerRecord, type StoredGrant } from './oauth-store.js';
import { SignInError } from './SignInError.js';
import { toStoredTokens } from './token-response.js';

/** How the user (or the program) signs in. */
export type SignInFlow = 'browser' | 'device' | 'client-credentials';

/** The device authorization grant type (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The sign-in in progress in this process: what the SDK's `auth()` needs for it. */
export interface ActiveSignIn {
  readonly redirectUrl: string | undefined;
  readonly state: string;
  /** The scope asked for: stored with the tokens, for a later step-up's union. */
  readonly scope: string | undefined;
  /** Hide stored tokens from `auth()`, so it authorizes anew instead of refreshing (step-up, failed refresh). */
  readonly hideTokens: boolean;
  /** Sends the user to the authorization URL (browser, or a printed URL). */
  redirect(url: URL): Promise<void>;
  /** The PKCE verifier: kept in memory only, so no other process can overwrite it. */
  codeVerifier?: string;
}

/** What the provider reads and writes through; the session implements it. */
export interface ProviderContext {
  readonly serverUrl: string;
  readonly flow: SignInFlow;
  /** Pre-registered client, from options or a file; never replaced by registration. */
  readonly staticClient: OAuthClientInformationMixed | undefined;
  /** Extra registration metadata, merged over the defaults. */
  readonly clientMetadata: Partial<OAuthClientMetadata> & Record<string, unknown>;
  /** A Client ID Metadata Document URL (https), used where the server supports it. */
  readonly clientMetadataUrl: string | undefined;
  /** The record, re-read when another process changed it (outside a lease) or as held (inside). */
  load(): Promise<ServerRecord>;
  /** Writes the record as it is now. */
  save(record: ServerRecord): Promise<void>;
  /** The sign-in in progress, if any. */
  activeSignIn(): ActiveSignIn | undefined;
  /** Outside the session's own operations: refresh ahead of expiry under the lease first. */
  beforeTokensRead(): Promise<void>;
}

/** The resource the grant is for: the server's RFC 9728 `resource`, else its own URL. */
function resourceOf(record: ServerRecord): string {
  return record.discovery?.resourceMetadata?.resource ?? record.serverUrl;
}

/** The grant for the authorization server and resource discovery found, if any. */
export function currentGrant(record: ServerRecord): StoredGrant | undefined {
  const issuer = record.discovery?.authorizationServerUrl;
  return issuer === undefined ? undefined : record.grants[grantKey(issuer, resourceOf(record))];
}

/** The grant for the discovered authorization server and resource, created when missing. */
export function ensureGrant(record: ServerRecord): StoredGrant {
  const issuer = record.discovery?.authorizationServerUrl;
  if (issuer === undefined) throw new Error('no authorization server discovered yet');
  const resource = resourceOf(record);
  const key = grantKey(issuer, resource);
  record.grants[key] ??= { issuer, resource };
  return record.grants[key];
}

/** The SDK's view of stored tokens: without our timestamps, `expires_in` counted from now. */
function sdkTokens(grant: StoredGrant | undefined): OAuthTokens | undefined {
  const stored = grant?.tokens;
  if (stored === undefined) return undefined;
  const { obtained_at: _obtained, expires_at, ...tokens } = stored;
  return expires_at === undefined ? tokens : { ...tokens, expires_in: Math.max(0, Math.floor((expires_at - Date.now()) / 1000)) };
}

/**
 * An `OAuthClientProvider` (the SDK's interface, v1 and v2) over the store: the SDK runs the
 * protocol (discovery, registration, PKCE, exchange, refresh), this keeps what it produces.
 */
export function createStoreProvider(context: ProviderContext): OAuthClientProvider {
  let looseVerifier: string | undefined;
  const edit = async (change: (record: ServerRecord) => void) => {
    const record = await context.load();
    change(record);
    await context.save(record);
  };

  const provider: OAuthClientProvider = {
    get redirectUrl() {
      if (context.flow === 'client-credentials') return undefined;
      // Outside a sign-in nothing is redirected; auth() only needs to know this is an interactive client.
      return context.activeSignIn()?.redirectUrl ?? `http://127.0.0.1${CALLBACK_PATH}`;
    },
    get clientMetadata() {
      const interactive = context.flow !== 'client-credentials';
      const redirect = context.activeSignIn()?.redirectUrl;
      const grantTypes =
        context.flow === 'browser'
          ? ['authorization_code', 'refresh_token']
          : context.flow === 'device'
            ? [DEVICE_CODE_GRANT, 'refresh_token']
            : ['client_credentials'];
      return {
        client_name: 'mcp-lifeline',
        software_id: 'mcp-lifeline',
        redirect_uris: redirect === undefined ? [] : [redirect],
        grant_types: grantTypes,
        response_types: context.flow === 'browser' ? ['code'] : [],
        token_endpoint_auth_method: interactive ? 'none' : 'client_secret_basic',
        // RFC 8252 / SEP-837: a native app on a loopback redirect; lets the server accept any port.
        application_type: 'native',
        ...context.clientMetadata,
        // The scope chosen for this sign-in (challenge, then resource metadata); the SDK's
        // client-credentials request reads it from here.
        ...(context.activeSignIn()?.scope === undefined ? {} : { scope: context.activeSignIn()?.scope }),
      } as OAuthClientMetadata;
    },
    ...(context.clientMetadataUrl === undefined ? {} : { clientMetadataUrl: context.clientMetadataUrl }),
    state: () => context.activeSignIn()?.state ?? randomBytes(32).toString('base64url'),
    async clientInformation() {
      if (context.staticClient !== undefined) return context.staticClient;
      return currentGrant(await context.load())?.client;
    },
    saveClientInformation: (information) =>
      edit((record) => {
        ensureGrant(record).client = information;
      }),
    async tokens() {
      if (context.activeSignIn()?.hideTokens) return undefined;
      await context.beforeTokensRead();
      return sdkTokens(currentGrant(await context.load()));
    },
    saveTokens: (tokens) =>
      edit((record) => {
        const grant = ensureGrant(record);
        grant.tokens = toStoredTokens(tokens, Date.now());
        const scope = context.activeSignIn()?.scope;
        if (scope !== undefined) grant.scope = scope;
      }),
    async redirectToAuthorization(url) {
      const signIn = context.activeSignIn();
      if (signIn === undefined) {
        throw new SignInError('SIGN_IN_REQUIRED', `not signed in to ${context.serverUrl}: run mcp-lifeline login ${context.serverUrl}`);
      }
      await signIn.redirect(url);
    },
    saveCodeVerifier(verifier) {
      const signIn = context.activeSignIn();
      if (signIn !== undefined) signIn.codeVerifier = verifier;
      else looseVerifier = verifier;
    },
    codeVerifier() {
      const verifier = context.activeSignIn()?.codeVerifier ?? looseVerifier;
      if (verifier === undefined) throw new SignInError('SIGN_IN_FAILED', 'no PKCE code verifier: this process did not start the sign-in');
      return verifier;
    },
    invalidateCredentials: (scope) =>
      edit((record) => {
        const grant = currentGrant(record);
        if ((scope === 'all' || scope === 'client') && grant !== undefined) grant.client = undefined;
        if ((scope === 'all' || scope === 'tokens') && grant !== undefined) grant.tokens = undefined;
        if (scope === 'all' || scope === 'discovery') record.discovery = undefined;
        if (scope === 'verifier') looseVerifier = undefined;
      }),
    saveDiscoveryState: (state: OAuthDiscoveryState) => {
      // Before anything is sent to it (the SDK saves before it registers or asks for a token):
      // the same checks as every discovery (resource, issuer, https endpoints).
      checkDiscovery(context.serverUrl, state);
      return edit((record) => {
        record.discovery = state;
      });
    },
    discoveryState: async () => (await context.load()).discovery,
    prepareTokenRequest(scope) {
      if (context.flow !== 'client-credentials') return undefined;
      const params = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope) params.set('scope', scope);
      return params;
    },
  };
  return provider;
}
