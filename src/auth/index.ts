// The `mcp-lifeline/oauth` entry: Node-only (files, processes, a loopback server), so it is kept
// out of the runtime-neutral root entry.

export type { SignInErrorCode } from '../errors/error-codes.js';
export { canonicalServerUrl } from './canonical-server-url.js';
export { type Challenge, isInsufficientScope, readChallenge } from './challenge.js';
export { configDir } from './config-dir.js';
export { type DevicePrompt, supportsDeviceFlow } from './device-flow.js';
export { DEFAULT_LEASE_STALE_MS, type LeaseOptions, type LeaseOwner, withLease } from './lease.js';
export {
  createOAuthSession,
  type OAuthSession,
  type RenewRequest,
  type SignInResult,
  type SignOutResult,
} from './oauth-session.js';
export {
  createOAuthStore,
  defaultStoreDirectory,
  type OAuthStore,
  type OAuthStoreOptions,
  type ServerRecord,
  STORE_LAYOUT,
  type StoredGrant,
  type StoredTokens,
} from './oauth-store.js';
export { browserCommand, openBrowser } from './open-browser.js';
export { isSignInError, SignInError } from './SignInError.js';
export {
  DEFAULT_OAUTH_SESSION_OPTIONS,
  type OAuthEvent,
  type OAuthSessionOptions,
  type SignInPrompt,
} from './session-options.js';
export type { StoreRepair } from './store-directory.js';
export type { SignInFlow } from './store-provider.js';
export {
  type AuthorizedRequest,
  DEFAULT_MAX_STEP_UPS,
  type WithOAuthSessionOptions,
  withOAuthSession,
} from './with-oauth-session.js';
