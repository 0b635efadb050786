// The usage texts: `mcp-lifeline --help`, `mcp-lifeline <command> --help` and `mcp-lifeline help [command]`.
import { ERA_HELP } from './era-args.js';
import { COMMAND_LINES, HELP_TOPICS, type HelpTopic } from './help-topics.js';
import { NETWORK_HELP } from './network-args.js';
import { OAUTH_HELP } from './oauth-options.js';
import { SERVE_HELP } from './serve-args.js';
import { TOOL_FILTER_HELP } from './tool-filter-args.js';

export { HELP_TOPICS, type HelpTopic } from './help-topics.js';

const CONNECTION = `Connection options (bridge and probe):
  --header 'Name: value'     add a header to every request (repeatable); \${VAR} is read from the environment
  --header-file PATH         read "Name: value" lines from PATH (# starts a comment)
  --timeout SECONDS          bound for requests mcp-lifeline sends on its own (default 10)
  --allow-http               allow a plain http:// <url> on another machine (refused by default: headers
                             and tokens would cross the network unencrypted; localhost needs nothing)
${NETWORK_HELP}`;

const BRIDGE = `Bridge options:
  --keepalive SECONDS|auto[:BOUND]
                             ping after SECONDS without traffic; auto: learn the server's idle
                             timeout from the sessions it drops (or start from BOUND, e.g. auto:15m
                             from probe --idle) and ping just before it (default: off)
  --request-timeout SECONDS  bound for each host request; progress resets it (default 300)
  --restart-window SECONDS   how long a request the server could not take (connection refused: a
                             restart, a redeploy) waits for it to come back; 0: not at all (default 30)
  --max-message-size SIZE    largest message either way, e.g. 8MiB, 512KB (default 8MiB)
  --max-in-flight N          host requests sent to the server at once; the rest wait (default 32)
  --exit-grace SECONDS       after stdin closes, time for requests in flight to finish (default 30)
  --log-level LEVEL          error | warn | info | debug (default info), written to stderr
  --log-format FORMAT        text | json (default text)
  --log-file PATH            also append the log to PATH (created with mode 0600), for hosts that hide stderr
  --oauth-request-wait SECONDS
                             how long a host request waits for a sign-in before it is answered with
                             what to do (default 20); the sign-in goes on in a process of its own
${TOOL_FILTER_HELP}
${ERA_HELP}`;

const PROBE = `Probe options:
  --json                     print the report as JSON
  --idle[=MAX]               also measure the idle timeout, up to MAX minutes (default 60)
  --idle-steps LIST          with --idle: the idle intervals to try, e.g. 1s,2s,4s (default 1m,2m,4m,8m,…)
  --no-color                 no colour, even on a terminal`;

const DEMO = `Demo options:
  --duration SECONDS         how long the client calls tools (default 15)
  --interval MS              pause between calls (default 250)
  --drop-every N             the server drops every session after N calls (default 3)
  --without-lifeline         the same client without mcp-lifeline, for contrast
  --no-color                 no colour, even on a terminal`;

const VALUES = `Values:
  a duration is a number with ms, s, m, h or d (500ms, 90s, 10m); a bare number is seconds (minutes
  for --idle, milliseconds for --interval). A size is bytes, or a number with k, m or g (counted in
  1024s, as KiB, MiB, GiB are) or KB, MB, GB (in 1000s): 512k, 8MiB, 1.5MB`;

const EXIT_CODES = `Exit codes: 0 ok, 1 problem found (probe: not recognised; demo: a call failed or ran twice;
status <url>: nothing stored), 2 usage or connection error (the bridge: when stdin closes and the host
never got a session), 3 internal error.`;

const GENERAL = `mcp-lifeline: keeps MCP clients working when a remote server forgets their session.

Usage:
${COMMAND_LINES}

${CONNECTION}

${BRIDGE}

${PROBE}

${DEMO}

${OAUTH_HELP}

Other:
  -h, --help                 this text (mcp-lifeline <command> --help: that command's)
  -v, --version              the version

${VALUES}

Examples:
  mcp-lifeline https://mcp.example.com/mcp --header 'Authorization: Bearer \${API_TOKEN}'
  mcp-lifeline https://mcp.atlassian.example/mcp --header-file ~/.config/atlassian.headers --keepalive 300
  mcp-lifeline probe https://mcp.example.com/mcp --json
  mcp-lifeline demo --without-lifeline
  mcp-lifeline help serve

${EXIT_CODES}`;

const BRIDGE_HELP = `mcp-lifeline <url>: the stdio bridge. A host starts it as a local (stdio) MCP server; it speaks
Streamable HTTP (or the era the server speaks) to <url>, and recovers the session when the server forgets it.

Usage:
  mcp-lifeline <url> [options]

${CONNECTION}

${BRIDGE}

${OAUTH_HELP}

${VALUES}

Example:
  mcp-lifeline https://mcp.example.com/mcp --header 'Authorization: Bearer \${API_TOKEN}' --log-file ~/mcp-lifeline.log

Exit codes: 0 after stdin closed (or SIGINT/SIGTERM); 2 usage error, or stdin closed and the host never
got a session (each failed initialize was answered with the reason); 3 internal error.`;

const PROBE_HELP = `mcp-lifeline probe <url>: how <url> signals a lost session, which protocol eras it speaks, and
(with --idle) its idle timeout. Uses a stored sign-in (mcp-lifeline login) and never opens a browser.

Usage:
  mcp-lifeline probe <url> [options]

${CONNECTION}

${PROBE}

${VALUES}

Examples:
  mcp-lifeline probe https://mcp.example.com/mcp --header 'Authorization: Bearer \${API_TOKEN}'
  mcp-lifeline probe https://mcp.example.com/mcp --idle=30 --json

Exit codes: 0 session loss recognised (or the server is stateless), 1 not recognised, 2 usage or
connection error, 3 internal error.`;

const DEMO_HELP = `mcp-lifeline demo: an MCP server on 127.0.0.1 that drops every session after a few calls, and the
official SDK client calling a non-idempotent tool through mcp-lifeline.

Usage:
  mcp-lifeline demo [options]

${DEMO}

Exit codes: 0 every call succeeded and nothing ran twice, 1 a call failed or ran twice, 2 usage error.`;

const LOGIN_HELP = `mcp-lifeline login <url>: signs in to <url> now (OAuth 2.1), for every host on this machine: the
bridge, probe and serve --oauth then use the stored sign-in.

Usage:
  mcp-lifeline login <url> [options]

Options:
  --force                    sign in again, even with a valid token
  --json                     also print the outcome as JSON on stdout
  --header 'Name: value'     a header the server needs before it asks for a sign-in (repeatable; \${VAR}
                             is read from the environment); --header-file PATH reads them from a file
${OAUTH_HELP}

Exit codes: 0 signed in (or already), 2 usage error, or the sign-in failed or was refused (the message
says why), 3 internal error.`;

const STATUS_HELP = `mcp-lifeline status [<url>]: the sign-ins stored on this machine (never a token).

Usage:
  mcp-lifeline status [<url>] [--json]

Exit codes: 0 printed, 1 status <url>: nothing stored for it, 2 usage error or a sign-in store that may
not be used, 3 internal error.`;

const LOGOUT_HELP = `mcp-lifeline logout: revokes a stored sign-in where the server supports it (RFC 7009), then deletes it.

Usage:
  mcp-lifeline logout <url> [--json]
  mcp-lifeline logout --all [--json]

Exit codes: 0 signed out (or nothing was stored), 2 usage error or a sign-in store that may not be
used, 3 internal error.`;

const HELP_HELP = `mcp-lifeline help [command]: the usage of mcp-lifeline, or of one command.

Usage:
  mcp-lifeline help
  mcp-lifeline help <command>     one of: ${HELP_TOPICS.join(', ')}`;

const VERSION_HELP = `mcp-lifeline version (or --version, -v): prints the version of mcp-lifeline.`;

/** The usage text of a topic: printed on stdout, exit 0. */
export function helpText(topic: HelpTopic): string {
  switch (topic) {
    case 'general':
      return GENERAL;
    case 'bridge':
      return BRIDGE_HELP;
    case 'probe':
      return PROBE_HELP;
    case 'demo':
      return DEMO_HELP;
    case 'serve':
      return SERVE_HELP;
    case 'login':
      return LOGIN_HELP;
    case 'status':
      return STATUS_HELP;
    case 'logout':
      return LOGOUT_HELP;
    case 'help':
      return HELP_HELP;
    case 'version':
      return VERSION_HELP;
  }
}
