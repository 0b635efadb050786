import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { ServerRecord } from './oauth-store.js';
import type { OAuthEvent, ResolvedSessionOptions, SignInPrompt } from './session-options.js';
import type { ActiveSignIn } from './store-provider.js';

/** What a new sign-in is asked for. */
export interface SignInRequest {
  /** The scope to ask for (a challenge's, or a step-up's union); undefined: the server's. */
  readonly scope: string | undefined;
  /** Where the server said its protected-resource metadata is (`WWW-Authenticate`). */
  readonly resourceMetadataUrl: URL | undefined;
}

/**
 * What the browser and device flows use of their session, which holds the lease while they run:
 * its record (read and written under the lease), the checked discovery, the sign-in fetch (https
 * only, bounded in time and size), and where prompts and events go.
 */
export interface SignInContext {
  readonly serverUrl: string;
  readonly config: ResolvedSessionOptions;
  /** The SDK provider over the session's store. */
  readonly provider: OAuthClientProvider;
  /** The fetch of every request of the sign-in ({@linkcode createSignInFetch}). */
  readonly fetch: FetchLike;
  load(): Promise<ServerRecord>;
  save(record: ServerRecord): Promise<void>;
  /** The record's discovery, or a new one, checked and stored: the start of every flow. */
  discover(record: ServerRecord, resourceMetadataUrl: URL | undefined): Promise<OAuthDiscoveryState>;
  /** Stores a token endpoint's answer in the record's current grant; resolves with the access token. */
  storeTokens(record: ServerRecord, tokens: OAuthTokens, scope: string | undefined): Promise<string>;
  /** Makes a sign-in the one the provider serves (undefined: none). */
  setActive(active: ActiveSignIn | undefined): void;
  emit(event: OAuthEvent): void;
  prompt(prompt: SignInPrompt): void;
}
