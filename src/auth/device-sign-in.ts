import { registerClient } from '@modelcontextprotocol/sdk/client/auth.js';
import { runDeviceFlow, supportsDeviceFlow } from './device-flow.js';
import type { ServerRecord } from './oauth-store.js';
import { openBrowser } from './open-browser.js';
import { SignInError } from './SignInError.js';
import type { SignInContext, SignInRequest } from './sign-in-context.js';
import { DEVICE_CODE_GRANT, ensureGrant } from './store-provider.js';

/**
 * The device flow (RFC 8628) for the session: discovery (checked, as for every flow), a client
 * registered for the device grant when needed, then the code shown to the user and the token
 * endpoint polled. Resolves with the access token, stored.
 */
export async function runDeviceSignIn(context: SignInContext, record: ServerRecord, request: SignInRequest): Promise<string> {
  const { config } = context;
  const discovery = await context.discover(record, request.resourceMetadataUrl);
  const metadata = discovery.authorizationServerMetadata;
  if (metadata === undefined || !supportsDeviceFlow(metadata)) {
    throw new SignInError(
      'SIGN_IN_FAILED',
      `${discovery.authorizationServerUrl} does not offer the device flow (no device_authorization_endpoint): sign in with the browser instead`,
    );
  }
  const scope = request.scope ?? discovery.resourceMetadata?.scopes_supported?.join(' ') ?? config.clientMetadata.scope;
  const grant = ensureGrant(record);
  const grantTypes = (grant.client as { grant_types?: string[] } | undefined)?.grant_types;
  if (
    config.staticClient === undefined &&
    (grant.client === undefined || (grantTypes !== undefined && !grantTypes.includes(DEVICE_CODE_GRANT)))
  ) {
    const information = await registerClient(discovery.authorizationServerUrl, {
      metadata,
      clientMetadata: context.provider.clientMetadata,
      ...(scope ? { scope } : {}),
      fetchFn: context.fetch,
    });
    grant.client = { ...information, issuer: discovery.authorizationServerUrl };
    await context.save(record);
  }
  const client = config.staticClient ?? grant.client;
  if (client === undefined) throw new SignInError('SIGN_IN_FAILED', 'no client to sign in with');
  const tokens = await runDeviceFlow({
    metadata,
    client,
    scope,
    resource: discovery.resourceMetadata?.resource,
    fetch: context.fetch,
    timeoutMs: config.signInTimeoutMs,
    prompt: async (device) => {
      context.prompt({ kind: 'device', ...device });
      if (config.openBrowser && device.verificationUriComplete !== undefined) {
        await openBrowser(device.verificationUriComplete, config.env).catch(() => {});
      }
    },
  });
  return context.storeTokens(record, tokens, scope);
}
