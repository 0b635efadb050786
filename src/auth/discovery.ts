import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { checkResourceAllowed } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { checkMetadataIssuer } from './issuer-checks.js';
import { isSignInError, SignInError } from './SignInError.js';
import { checkSignInUrl } from './sign-in-url.js';

// Discovery and its checks: the one gate every flow passes (browser, device, client credentials,
// refresh, a stored sign-in) before a token is requested or sent. A discovery is checked when it
// is found, when the SDK hands one to the provider, and when a stored one is read back.

/** The authorization server metadata fields that name an endpoint a sign-in may use. */
const ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'revocation_endpoint',
  'device_authorization_endpoint',
] as const;

/**
 * Throws a {@linkcode SignInError} unless `state` is safe to sign in to `serverUrl` with:
 * - `RESOURCE_MISMATCH`: the protected-resource metadata names another resource (RFC 9728 §3.3,
 *   RFC 8707): a token asked for it would be a token for that other server, which this one
 *   could replay there;
 * - `ISSUER_MISMATCH`: the authorization server metadata names another issuer (RFC 8414 §3.3);
 * - `INSECURE_ENDPOINT`: the server, the metadata or an endpoint is neither https: nor http: on
 *   a loopback host, or is on a loopback host while the server is not.
 */
export function checkDiscovery(serverUrl: string, state: OAuthDiscoveryState): void {
  checkSignInUrl('MCP server URL', serverUrl);
  if (state.resourceMetadataUrl !== undefined) checkSignInUrl('protected-resource metadata URL', state.resourceMetadataUrl, serverUrl);
  if (state.resourceMetadata !== undefined) checkResource(serverUrl, state.resourceMetadata);
  checkSignInUrl('authorization server', state.authorizationServerUrl, serverUrl);
  checkMetadataIssuer(state);
  const metadata = state.authorizationServerMetadata as Record<string, unknown> | undefined;
  for (const name of ENDPOINTS) {
    // A field that is not a string is not an endpoint (the SDK's schema refuses those it reads).
    const value = metadata?.[name];
    if (typeof value === 'string') checkSignInUrl(name, value, serverUrl);
  }
}

/**
 * RFC 9728 discovery as the SDK does it (the protected-resource metadata, at `resourceMetadataUrl`
 * or the well-known URL; else the 2025-03-26 fallback to the server's origin; then RFC 8414 or
 * OpenID metadata), with every URL checked before it is fetched and the result checked by
 * {@linkcode checkDiscovery}. A refusal (an insecure URL, a document over the bound) ends the
 * sign-in; only a missing or unreadable protected-resource metadata document falls back.
 */
export async function discoverSignIn(
  serverUrl: string,
  options: { readonly resourceMetadataUrl?: URL | undefined; readonly fetch: FetchLike },
): Promise<OAuthDiscoveryState> {
  const { resourceMetadataUrl } = options;
  checkSignInUrl('MCP server URL', serverUrl);
  if (resourceMetadataUrl !== undefined) checkSignInUrl('protected-resource metadata URL', resourceMetadataUrl, serverUrl);
  let resourceMetadata: OAuthProtectedResourceMetadata | undefined;
  try {
    resourceMetadata = await discoverOAuthProtectedResourceMetadata(
      serverUrl,
      resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl },
      options.fetch,
    );
  } catch (error) {
    if (isSignInError(error)) throw error;
  }
  // Before the authorization server is asked anything.
  if (resourceMetadata !== undefined) checkResource(serverUrl, resourceMetadata);
  const authorizationServerUrl = resourceMetadata?.authorization_servers?.[0] ?? new URL('/', serverUrl).href;
  checkSignInUrl('authorization server', authorizationServerUrl, serverUrl);
  const authorizationServerMetadata = await discoverAuthorizationServerMetadata(authorizationServerUrl, { fetchFn: options.fetch });
  const state: OAuthDiscoveryState = {
    authorizationServerUrl,
    ...(authorizationServerMetadata === undefined ? {} : { authorizationServerMetadata }),
    ...(resourceMetadata === undefined ? {} : { resourceMetadata }),
    ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl: resourceMetadataUrl.href }),
  };
  checkDiscovery(serverUrl, state);
  return state;
}

/** RFC 9728 §3.3 with the SDK's rule: the same origin, and the server's path within the resource's. */
function checkResource(serverUrl: string, metadata: OAuthProtectedResourceMetadata): void {
  const { resource } = metadata;
  let allowed = false;
  try {
    allowed = checkResourceAllowed({ requestedResource: serverUrl, configuredResource: resource });
  } catch {
    // Not a URL: not this server.
  }
  if (allowed) return;
  throw new SignInError(
    'RESOURCE_MISMATCH',
    `the protected-resource metadata of ${serverUrl} names another resource, ${JSON.stringify(String(resource).slice(0, 200))}: ` +
      'a token for it could be replayed there (RFC 9728 §3.3, RFC 8707); refusing to sign in',
  );
}
