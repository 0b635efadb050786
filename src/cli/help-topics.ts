// The commands' names and one-line summaries, apart from the usage texts (help.ts): the argument
// parser needs these, and a bridge never loads the texts (or serve's, which they include).

/** What `help` can tell about: the whole CLI, or one command. */
export const HELP_TOPICS = ['bridge', 'probe', 'demo', 'serve', 'login', 'status', 'logout', 'help', 'version'] as const;
export type HelpTopic = 'general' | (typeof HELP_TOPICS)[number];

/** Every command, a line each: in `--help`, and when a command is missing or mistyped. */
export const COMMAND_LINES = `  mcp-lifeline <url> [options]          stdio bridge: MCP over stdio to the host, Streamable HTTP to <url>
  mcp-lifeline probe <url> [options]    tell how <url> signals a lost session
  mcp-lifeline demo [options]           watch recovery live on an embedded server
  mcp-lifeline serve <url>… [options]   recovering gateway for hosts that take a URL
  mcp-lifeline login <url> [options]    sign in now, for every host on this machine
  mcp-lifeline status [<url>]           what sign-ins are stored
  mcp-lifeline logout <url> | --all     revoke and delete a sign-in
  mcp-lifeline help [command]           this text, or one command's
  mcp-lifeline version                  the version`;
