import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import { type CallbackServer, startCallbackServer } from './callback-server.js';
import { SignInError } from './SignInError.js';

/**
 * Opens the loopback callback of one sign-in. On the port the user fixed (`callbackPort`, or the
 * port in a pre-registered client's redirect URI) when there is one; a taken fixed port is a
 * `CALLBACK_PORT_IN_USE` error. Otherwise on a fresh port from the system, every sign-in: a port
 * kept across sign-ins is one anyone on the machine (or a web page) can aim requests at. A
 * dynamically registered client made for another port is registered again (the caller's part):
 * RFC 8252 §7.3 lets servers accept any loopback port, but not all do.
 */
export async function openCallback(config: {
  readonly callbackPort: number;
  readonly staticClient: OAuthClientInformationMixed | undefined;
}): Promise<CallbackServer> {
  const fixed = config.callbackPort !== 0 ? config.callbackPort : portOf(config.staticClient);
  if (fixed === undefined) return startCallbackServer();
  try {
    return await startCallbackServer({ port: fixed });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new SignInError(
      'CALLBACK_PORT_IN_USE',
      `port ${fixed} on 127.0.0.1, where the authorization server sends the user back, is in use by another program; ` +
        'free it, or use a client registered for another port (--oauth-callback-port)',
    );
  }
}

/** Whether a stored client was registered with this redirect URI. */
export function registeredFor(client: OAuthClientInformationMixed, redirectUrl: string): boolean {
  const uris = (client as { redirect_uris?: unknown }).redirect_uris;
  return Array.isArray(uris) && uris.includes(redirectUrl);
}

function portOf(client: OAuthClientInformationMixed | undefined): number | undefined {
  const first = (client as { redirect_uris?: unknown } | undefined)?.redirect_uris;
  const uri = Array.isArray(first) ? first[0] : undefined;
  if (typeof uri !== 'string') return undefined;
  try {
    const url = new URL(uri);
    return url.hostname === '127.0.0.1' && url.port !== '' ? Number(url.port) : undefined;
  } catch {
    return undefined;
  }
}
