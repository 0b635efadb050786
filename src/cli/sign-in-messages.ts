// What the CLI tells a person about a sign-in that waits for them: where to sign in, until when,
// and (when no browser opened) which loopback port the browser must reach, for ssh forwarding.
import type { LeaseOwner } from '../auth/lease.js';
import type { SignInPrompt } from '../auth/session-options.js';
import { untilText } from './duration-text.js';

/** A prompt as one log line: `warn` when the user must act without a window opened for them. */
export function promptMessage(where: string, prompt: SignInPrompt): { readonly level: 'info' | 'warn'; readonly text: string } {
  const waits = `mcp-lifeline waits until ${untilText(prompt.expiresAt)}`;
  if (prompt.kind === 'device') {
    return {
      level: 'warn',
      text: `sign in to ${where}: open ${prompt.verificationUri} on any device and enter the code ${prompt.userCode} (${waits})`,
    };
  }
  if (prompt.opened)
    return { level: 'info', text: `sign in to ${where} in the browser window just opened; ${waits}. If none opened, open: ${prompt.url}` };
  const why = prompt.reason === undefined ? 'no browser is started with --no-browser' : `no browser window opened: ${prompt.reason}`;
  const port = prompt.callbackPort;
  return {
    level: 'warn',
    text:
      `sign in to ${where}: open this URL in a browser on this machine: ${prompt.url} (${why}). ` +
      `${waits} for the browser to come back to http://127.0.0.1:${port}/callback. From a browser on another machine, ` +
      `forward that port first (ssh -L ${port}:127.0.0.1:${port} <this machine>); --oauth-callback-port ${port} keeps it the same next time`,
  };
}

/**
 * The answer to a host request that a sign-in in progress could not serve in time: what to do
 * (the window, the URL, the code; or `mcp-lifeline login`), how long the sign-in waits (as it
 * said, or `fallbackUntil` while it has not yet), and that the host's next connection will find
 * it done.
 */
export function pendingText(where: string, owner: LeaseOwner | undefined, fallbackUntil: number): string {
  const prompt = owner?.prompt;
  const action =
    prompt === undefined
      ? 'finish it in the browser window that opens'
      : prompt.kind === 'device'
        ? `enter the code ${prompt.userCode} at ${prompt.verificationUri}`
        : prompt.opened
          ? `finish it in the browser window opened at ${new Date(owner?.since ?? Date.now()).toTimeString().slice(0, 8)}`
          : `open ${prompt.url} in a browser on this machine (it comes back to port ${prompt.callbackPort})`;
  const until = prompt?.expiresAt ?? owner?.until ?? fallbackUntil;
  return (
    `sign-in to ${where} is waiting for you: ${action}, or run: mcp-lifeline login ${where}. ` +
    `It waits until ${untilText(until)}. Then connect again (restart this server in your host)`
  );
}

/** Another process's sign-in, joined: who, until when, and how long this request waits for it. */
export function joinText(where: string, owner: LeaseOwner, requestWaitMs: number): string {
  const until = owner.prompt?.expiresAt ?? owner.until;
  return (
    `a sign-in to ${where} is in progress in process ${owner.pid}${until === undefined ? '' : ` (it waits for you until ${untilText(until)})`}: ` +
    `joining it; this request waits for it up to ${Math.round(requestWaitMs / 1000)} s`
  );
}
