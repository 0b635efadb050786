import { existsSync } from 'node:fs';
import { createOAuthStore, defaultStoreDirectory } from '../auth/oauth-store.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { OAuthFlags } from './auth-args.js';
import type { ForHost, SignInLog } from './oauth-fetch.js';

/**
 * The bridge's sign-in layer, loaded when it is first needed: at start when a sign-in is stored
 * for the server (or client credentials are configured), otherwise at the first 401 or 403 the
 * server answers. Most servers behind a bridge never ask, and the sign-in code (with the SDK's
 * auth module and its schemas, about 11 MB of a bridge's memory) then never loads. The refused
 * request is sent again through the sign-in layer: a 401 proves it was not processed.
 */
export function lazySignInFetch(
  command: { readonly url: URL; readonly oauth: OAuthFlags },
  log: SignInLog,
  options: { readonly fetch: FetchLike; readonly env?: NodeJS.ProcessEnv; readonly forHost: ForHost },
): FetchLike {
  const env = options.env ?? process.env;
  let signedIn: Promise<FetchLike> | undefined;
  const load = () => {
    signedIn ??= import('./oauth-fetch.js').then(
      (module) =>
        (module.oauthFetchFor(command, log, { fetch: options.fetch, env, forHost: options.forHost }).fetch as FetchLike | undefined) ??
        options.fetch,
    );
    return signedIn;
  };
  const configured = command.oauth.flow === 'client-credentials' || command.oauth.clientInformation !== undefined;
  if (configured || existsSync(createOAuthStore(defaultStoreDirectory(env)).fileOf(command.url))) void load();

  return async function lazySignIn(input, init) {
    if (signedIn !== undefined) return (await signedIn)(input, init);
    const response = await options.fetch(input, init);
    if (response.status !== 401 && response.status !== 403) return response;
    if (response.status === 403 && !/insufficient_scope/i.test(response.headers.get('www-authenticate') ?? '')) return response;
    await response.body?.cancel().catch(() => {});
    return (await load())(input, init);
  };
}
