import { randomBytes } from 'node:crypto';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { openCallback, registeredFor } from './callback-port.js';
import { openBrowser } from './open-browser.js';
import { isSignInError, SignInError } from './SignInError.js';
import { widensScope } from './scopes.js';
import type { SignInContext, SignInRequest } from './sign-in-context.js';
import { signInErrorText } from './sign-in-error-text.js';
import { checkSignInUrl } from './sign-in-url.js';
import { currentGrant } from './store-provider.js';

/**
 * The authorization code flow with PKCE (the SDK's `auth()`), through the browser and a loopback
 * callback: discovery (checked), a fresh callback port, a client that fits, then the user is sent
 * to the authorization URL and the code exchanged. Resolves with the access token.
 */
export async function runBrowserSignIn(context: SignInContext, request: SignInRequest): Promise<string> {
  const { config, serverUrl } = context;
  const discovery = await context.discover(await context.load(), request.resourceMetadataUrl);
  const callback = await openCallback(config);
  const stop = new AbortController();
  try {
    await dropUnfitClient(context, request.scope, callback.redirectUrl);
    const state = randomBytes(32).toString('base64url');
    const metadata = discovery.authorizationServerMetadata as Record<string, unknown> | undefined;
    // Expected before the browser opens, so no answer can arrive unexpected; until then, and
    // after a wrong one, only this sign-in's `state` (or the timeout) ends the wait.
    const expiresAt = Date.now() + config.signInTimeoutMs;
    const answer = callback.waitForCode({
      state,
      issuer: typeof metadata?.['issuer'] === 'string' ? metadata['issuer'] : undefined,
      issRequired: metadata?.['authorization_response_iss_parameter_supported'] === true,
      timeoutMs: config.signInTimeoutMs,
      signal: stop.signal,
      onIgnored: (reason) => context.emit({ type: 'callback-ignored', reason }),
    });
    answer.catch(() => {}); // awaited below, once the user was sent to the browser
    context.setActive({
      redirectUrl: callback.redirectUrl,
      state,
      scope: request.scope,
      hideTokens: true,
      redirect: (url) => sendUserTo(context, url, { callbackPort: callback.port, expiresAt }),
    });
    const options = {
      serverUrl,
      fetchFn: context.fetch,
      ...(request.resourceMetadataUrl ? { resourceMetadataUrl: request.resourceMetadataUrl } : {}),
    };
    const result = await auth(context.provider, { ...options, ...(request.scope ? { scope: request.scope } : {}) });
    if (result === 'REDIRECT') {
      const { code } = await answer;
      await auth(context.provider, { ...options, authorizationCode: code });
    }
    const record = await context.load();
    const grant = currentGrant(record);
    if (grant?.tokens === undefined) throw new SignInError('SIGN_IN_FAILED', `sign-in to ${serverUrl} ended without a token`);
    grant.scope ??= request.scope ?? record.discovery?.resourceMetadata?.scopes_supported?.join(' ');
    await context.save(record);
    return grant.tokens.access_token;
  } finally {
    context.setActive(undefined);
    stop.abort();
    await callback.close();
  }
}

/**
 * A dynamically registered client that does not fit this sign-in is registered again before the
 * user is sent anywhere: one made for another callback port (each sign-in listens on a fresh
 * one), or for a narrower scope than a step-up needs (servers refuse scopes a client was not
 * registered for: `invalid_scope`).
 */
async function dropUnfitClient(context: SignInContext, scope: string | undefined, redirectUrl: string): Promise<void> {
  if (context.config.staticClient !== undefined) return;
  const record = await context.load();
  const grant = currentGrant(record);
  const client = grant?.client;
  if (grant === undefined || client === undefined) return;
  const registeredScope = (client as { scope?: string }).scope;
  const narrow = scope !== undefined && registeredScope !== undefined && widensScope(scope, registeredScope);
  if (registeredFor(client, redirectUrl) && !narrow) return;
  grant.client = undefined;
  await context.save(record);
}

/** Where the user comes back to, and until when the callback waits: for the prompt. */
interface CallbackWait {
  readonly callbackPort: number;
  readonly expiresAt: number;
}

async function sendUserTo(context: SignInContext, url: URL, wait: CallbackWait): Promise<void> {
  // The authorization endpoint was checked at discovery; the URL built from it is checked again
  // before it is shown or opened (https:, or http: on loopback: never file:, smb:, a custom scheme).
  checkSignInUrl('authorization URL', url);
  if (!context.config.openBrowser) {
    context.prompt({ kind: 'browser', url: url.href, opened: false, ...wait });
    return;
  }
  try {
    await openBrowser(url.href, context.config.env);
    context.prompt({ kind: 'browser', url: url.href, opened: true, ...wait });
  } catch (error) {
    if (isSignInError(error)) throw error;
    context.prompt({ kind: 'browser', url: url.href, opened: false, reason: signInErrorText(error), ...wait });
  }
}
