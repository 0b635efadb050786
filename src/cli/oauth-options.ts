// The OAuth flags, apart from their parsing (auth-args.ts) so that args.ts can spread them into
// its own options at load time without an import cycle.

/** The OAuth flags, as `node:util` `parseArgs` options: merged into the bridge's and probe's own. */
export const OAUTH_OPTIONS = {
  'no-oauth': { type: 'boolean' },
  'no-browser': { type: 'boolean' },
  device: { type: 'boolean' },
  'oauth-client-credentials': { type: 'boolean' },
  'oauth-client-info': { type: 'string' },
  'oauth-client-metadata': { type: 'string' },
  'oauth-client-metadata-url': { type: 'string' },
  'oauth-scope': { type: 'string' },
  'oauth-callback-port': { type: 'string' },
  'oauth-timeout': { type: 'string' },
} as const;

/**
 * How long a host's request waits for a sign-in before the bridge answers it with what to do
 * (`--oauth-request-wait`): well within the 60 s after which the official SDKs give up on a
 * request (DEFAULT_REQUEST_TIMEOUT_MSEC), with room for a host that allows less; the sign-in goes on.
 */
export const DEFAULT_SIGN_IN_REQUEST_WAIT_MS = 20_000;

/** Help text for the OAuth flags and commands. */
export const OAUTH_HELP = `Sign-in (OAuth 2.1, for servers that answer 401 with WWW-Authenticate; bridge, probe, login):
  mcp-lifeline login <url>      sign in now, for every host on this machine
  mcp-lifeline status [<url>]   what is stored (--json)
  mcp-lifeline logout <url>     revoke (RFC 7009) and delete (--all: every server)
  (login and logout also take --allow-http, --proxy and --ca-file, as the bridge does)
  --no-browser               print the sign-in URL (and the callback port) instead of opening a browser
                             ($BROWSER is honoured)
  --device                   sign in with the device flow (RFC 8628): a code to enter on any device
  --oauth-client-credentials no user: client_credentials with MCP_LIFELINE_CLIENT_ID/_SECRET or --oauth-client-info
  --oauth-client-info FILE   a pre-registered client: {"client_id", "client_secret"?, "redirect_uris"?}
  --oauth-client-metadata FILE  registration metadata to send (client_name, scope, …)
  --oauth-client-metadata-url URL  a Client ID Metadata Document (https), where the server supports it
  --oauth-scope SCOPE        scope to ask for when the server names none
  --oauth-callback-port PORT loopback port for the sign-in callback (default: a free one each time); fix it
                             to forward it over ssh (ssh -L PORT:127.0.0.1:PORT)
  --oauth-timeout SECONDS    bound for the user to finish signing in (default 300)
  --no-oauth                 never sign in (a 401 is an error); also off when --header sets Authorization`;
