/** Exit codes of every command, documented in README. */
export const EXIT = {
  /** Success; for `probe`: session loss is recognised (or the server is stateless). */
  ok: 0,
  /** A problem was found: `probe` did not recognise the answer, `demo` saw a failure or a duplicate. */
  problem: 1,
  /** Usage or connection error: bad flags, bad URL, unreachable server, refused credentials. */
  usage: 2,
  /** A bug in mcp-lifeline. */
  internal: 3,
} as const;
