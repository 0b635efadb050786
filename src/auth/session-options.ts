import type { OAuthClientInformationMixed, OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { DevicePrompt } from './device-flow.js';
import type { OAuthStore } from './oauth-store.js';
import type { SignInFlow } from './store-provider.js';

/** What the user must do now; the CLI writes it to stderr. */
export type SignInPrompt =
  | {
      readonly kind: 'browser';
      /** The authorization URL (no secret in it: PKCE sends only the challenge). */
      readonly url: string;
      /** Whether a browser was started on it; when false, the user must open it. */
      readonly opened: boolean;
      /** Why no browser was started, when none was (undefined with `openBrowser: false`). */
      readonly reason?: string | undefined;
      /** The loopback port the browser comes back to (`http://127.0.0.1:<port>/callback`): the one to forward over ssh. */
      readonly callbackPort: number;
      /** When the sign-in stops waiting for the user, in ms since the epoch. */
      readonly expiresAt: number;
    }
  | ({ readonly kind: 'device' } & DevicePrompt);

/** What a session reports besides prompts. Never carries a token. */
export type OAuthEvent =
  /**
   * Another process holds the lease (a sign-in, a refresh): this one waits for its outcome. `until`
   * is when that process gives up at the latest, `prompt` what it asks the user to do (when known).
   */
  | {
      readonly type: 'waiting';
      readonly pid: number | undefined;
      readonly purpose: string | undefined;
      readonly until: number | undefined;
      readonly prompt: SignInPrompt | undefined;
    }
  /** The process this one waits for now asks the user to do something (`prompt`), learnt after the wait began. */
  | { readonly type: 'holder-prompt'; readonly pid: number; readonly prompt: SignInPrompt }
  | { readonly type: 'token-adopted' }
  | { readonly type: 'refreshed'; readonly ms: number }
  | { readonly type: 'refresh-rejected'; readonly message: string }
  | { readonly type: 'sign-in-started'; readonly flow: SignInFlow; readonly scope: string | undefined }
  | { readonly type: 'signed-in'; readonly flow: SignInFlow; readonly ms: number; readonly scope: string | undefined }
  | { readonly type: 'sign-in-failed'; readonly code: string; readonly message: string }
  | { readonly type: 'step-up'; readonly scope: string | undefined }
  /** A request to the loopback callback that was not this sign-in's answer: answered 400 and ignored. */
  | { readonly type: 'callback-ignored'; readonly reason: string }
  /** A stored sign-in failed the discovery checks (resource, issuer, https) and is not used. */
  | { readonly type: 'stored-sign-in-refused'; readonly message: string }
  /** The store directory was readable by other users; its mode is now 0700 (`mode` is the old one). */
  | { readonly type: 'store-repaired'; readonly directory: string; readonly mode: number };

/** Options of {@linkcode createOAuthSession}. Only `serverUrl` is required. */
export interface OAuthSessionOptions {
  /** The MCP server's URL. Sign-ins are stored under its canonical form. */
  readonly serverUrl: string | URL;
  /** Where sign-ins are kept. @default createOAuthStore() (under $MCP_LIFELINE_CONFIG_DIR or the XDG config dir) */
  readonly store?: OAuthStore | undefined;
  /**
   * How to sign in: `browser` (authorization code with PKCE, loopback callback), `device`
   * (RFC 8628), `client-credentials` (no user; needs `clientInformation` with a secret).
   * @default 'browser'
   */
  readonly flow?: SignInFlow | undefined;
  /** Start a browser on the authorization URL; with `false` it is only given to `onPrompt`. @default true */
  readonly openBrowser?: boolean | undefined;
  /** Environment for `$BROWSER`. @default process.env */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Told what the user must do (open a URL, enter a code). @default undefined */
  readonly onPrompt?: ((prompt: SignInPrompt) => void) | undefined;
  /** Receives refreshes, sign-ins, waits for other processes. Exceptions it throws are ignored. @default undefined */
  readonly onEvent?: ((event: OAuthEvent) => void) | undefined;
  /** A pre-registered client (`client_id`, `client_secret`, `redirect_uris`); registration is skipped. @default undefined */
  readonly clientInformation?: OAuthClientInformationMixed | undefined;
  /** Registration metadata merged over the defaults (`client_name`, `scope`, …). @default {} */
  readonly clientMetadata?: (Partial<OAuthClientMetadata> & Record<string, unknown>) | undefined;
  /** An https Client ID Metadata Document URL, used where the server supports it. @default undefined */
  readonly clientMetadataUrl?: string | undefined;
  /**
   * Loopback callback port; 0 takes a fresh free port at every sign-in (or the port of a
   * pre-registered client's redirect URI). @default 0
   */
  readonly callbackPort?: number | undefined;
  /** Bound for the user to finish signing in, in ms. @default 300_000 */
  readonly signInTimeoutMs?: number | undefined;
  /** Refresh this long before the access token expires (at most a fifth of its lifetime), in ms. @default 60_000 */
  readonly refreshAheadMs?: number | undefined;
  /** Bound for each request to the authorization server, in ms. @default 10_000 */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Bound for each document fetched during sign-in (protected-resource and authorization server
   * metadata, OpenID discovery, registration, token, device and revocation answers), in bytes.
   * A larger one is refused with a `DOCUMENT_TOO_LARGE` SignInError. @default 1_048_576 (1 MiB)
   */
  readonly maxDocumentBytes?: number | undefined;
  /** After a failed or abandoned sign-in, no new browser window for this long, in ms. @default 30_000 */
  readonly signInCooldownMs?: number | undefined;
  /** fetch for requests to the authorization server and metadata. @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined;
}

export const DEFAULT_OAUTH_SESSION_OPTIONS = {
  flow: 'browser',
  openBrowser: true,
  callbackPort: 0,
  signInTimeoutMs: 300_000, // 5 min for the user
  refreshAheadMs: 60_000,
  requestTimeoutMs: 10_000,
  signInCooldownMs: 30_000,
  maxDocumentBytes: 1_048_576, // 1 MiB: metadata and token answers are a few KB
} as const satisfies Partial<OAuthSessionOptions>;

/** The options with their defaults, checked once. */
export interface ResolvedSessionOptions {
  readonly flow: SignInFlow;
  readonly openBrowser: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly callbackPort: number;
  readonly signInTimeoutMs: number;
  readonly refreshAheadMs: number;
  readonly requestTimeoutMs: number;
  readonly signInCooldownMs: number;
  readonly maxDocumentBytes: number;
  readonly staticClient: OAuthClientInformationMixed | undefined;
  readonly clientMetadata: Partial<OAuthClientMetadata> & Record<string, unknown>;
  readonly clientMetadataUrl: string | undefined;
}

/** Resolves defaults; throws a TypeError naming a bad option. */
export function resolveSessionOptions(options: OAuthSessionOptions): ResolvedSessionOptions {
  const defaults = DEFAULT_OAUTH_SESSION_OPTIONS;
  const flow = options.flow ?? defaults.flow;
  if (!['browser', 'device', 'client-credentials'].includes(flow))
    throw new TypeError(`createOAuthSession: unknown flow "${String(flow)}"`);
  if (flow === 'client-credentials' && options.clientInformation?.client_secret === undefined) {
    throw new TypeError('createOAuthSession: the client-credentials flow needs clientInformation with a client_secret');
  }
  const durations = {
    signInTimeoutMs: options.signInTimeoutMs ?? defaults.signInTimeoutMs,
    refreshAheadMs: options.refreshAheadMs ?? defaults.refreshAheadMs,
    requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
    signInCooldownMs: options.signInCooldownMs ?? defaults.signInCooldownMs,
  };
  for (const [name, value] of Object.entries(durations)) {
    if (!Number.isFinite(value) || value < 0)
      throw new TypeError(`createOAuthSession: ${name} must be a non-negative number of ms, got ${value}`);
  }
  const maxDocumentBytes = options.maxDocumentBytes ?? defaults.maxDocumentBytes;
  if (!Number.isInteger(maxDocumentBytes) || maxDocumentBytes < 1) {
    throw new TypeError(`createOAuthSession: maxDocumentBytes must be a positive number of bytes, got ${maxDocumentBytes}`);
  }
  const callbackPort = options.callbackPort ?? defaults.callbackPort;
  if (!Number.isInteger(callbackPort) || callbackPort < 0 || callbackPort > 65_535) {
    throw new TypeError(`createOAuthSession: callbackPort must be a port number, got ${callbackPort}`);
  }
  if (options.clientMetadataUrl !== undefined && !/^https:\/\/[^/]+\/.+/.test(options.clientMetadataUrl)) {
    throw new TypeError(`createOAuthSession: clientMetadataUrl must be an https URL with a path, got ${options.clientMetadataUrl}`);
  }
  return {
    flow,
    openBrowser: options.openBrowser ?? defaults.openBrowser,
    env: options.env ?? process.env,
    callbackPort,
    ...durations,
    maxDocumentBytes,
    staticClient: options.clientInformation,
    clientMetadata: options.clientMetadata ?? {},
    clientMetadataUrl: options.clientMetadataUrl,
  };
}
