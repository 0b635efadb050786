import { createOAuthStore, defaultStoreDirectory } from '../auth/oauth-store.js';
import { isSignInError } from '../auth/SignInError.js';

/** Whether a sign-in with a token is stored for `url` (in the store `env` names); false when the store may not be used. */
export async function hasStoredSignIn(url: URL, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  try {
    const read = await createOAuthStore(defaultStoreDirectory(env)).read(url);
    return Object.values(read?.record.grants ?? {}).some((grant) => grant.tokens !== undefined);
  } catch (error) {
    // A store that may not be used: the requests that need it say why.
    if (isSignInError(error)) return false;
    throw error;
  }
}
