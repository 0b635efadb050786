import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { ServerRecord, StoredGrant, StoredTokens } from './oauth-store.js';
import { isSignInError, SignInError } from './SignInError.js';
import type { SignInContext } from './sign-in-context.js';
import { signInErrorText } from './sign-in-error-text.js';

/**
 * Refreshes a grant's tokens (RFC 6749 §6) with the discovery and client stored for it, under the
 * session's lease; resolves with the new access token, stored. Undefined when there is nothing to
 * refresh with, or the refresh token is no longer accepted (`invalid_grant`; then it is deleted,
 * and with `invalid_client` a registered client too): a new sign-in is needed.
 */
export async function refreshGrant(
  context: SignInContext,
  held: { readonly record: ServerRecord; readonly grant: StoredGrant; readonly tokens: StoredTokens },
): Promise<string | undefined> {
  const { config, serverUrl } = context;
  const { record, grant, tokens } = held;
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
      fetchFn: context.fetch,
    });
    const token = await context.storeTokens(record, fresh, undefined);
    context.emit({ type: 'refreshed', ms: Date.now() - started });
    return token;
  } catch (error) {
    if (error instanceof OAuthError && (error.errorCode === 'invalid_grant' || error.errorCode === 'invalid_client')) {
      grant.tokens = undefined;
      if (error.errorCode === 'invalid_client' && config.staticClient === undefined) grant.client = undefined;
      await context.save(record);
      context.emit({ type: 'refresh-rejected', message: signInErrorText(error) });
      return undefined;
    }
    if (isSignInError(error)) throw error;
    throw new SignInError('SIGN_IN_FAILED', `could not refresh the token for ${serverUrl}: ${signInErrorText(error)}`, { cause: error });
  }
}
