import { createOAuthSession, type OAuthSession } from '../auth/oauth-session.js';
import type { OAuthEvent, SignInPrompt } from '../auth/session-options.js';
import { withOAuthSession } from '../auth/with-oauth-session.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { OAuthFlags } from './auth-args.js';
import { untilText } from './duration-text.js';
import { type HostSignInOptions, signInForHost } from './host-sign-in.js';
import type { LogFields, Logger } from './logger.js';
import { promptMessage } from './sign-in-messages.js';

/** Where sign-in messages go: the bridge's logger, or plain lines for `login`. */
export type SignInLog = Pick<Logger, 'error' | 'warn' | 'info' | 'debug'>;

/** What the CLI says when the store directory's mode was set to 0700. */
export function storeRepairedText(directory: string, mode: number): string {
  return `the sign-in store ${directory} was readable by other users (mode 0${mode.toString(8)}); its mode is now 0700`;
}

/** The session the CLI signs in with: the default store, `$BROWSER`, messages to `log`. */
export function createCliSession(url: URL, flags: OAuthFlags, options: { log: SignInLog; env: NodeJS.ProcessEnv }): OAuthSession {
  const { log } = options;
  const where = url.origin + url.pathname;
  return createOAuthSession({
    serverUrl: url,
    flow: flags.flow,
    openBrowser: flags.openBrowser,
    env: options.env,
    clientInformation: flags.clientInformation,
    clientMetadata: { ...flags.clientMetadata, ...(flags.scope === undefined ? {} : { scope: flags.scope }) },
    clientMetadataUrl: flags.clientMetadataUrl,
    callbackPort: flags.callbackPort,
    signInTimeoutMs: flags.signInTimeoutMs,
    onPrompt: (prompt) => showPrompt(log, where, prompt),
    onEvent: (event) => logEvent(log, where, event),
  });
}

/**
 * The fetch the bridge hands its upstream (beneath session recovery): signs requests in, and
 * signs the user in when the server asks. Only POSTs (the host's messages) may open a browser;
 * with `interactive: false` (probe) none does, and only a stored sign-in is used.
 */
export function createOAuthFetch(session: OAuthSession, options: { interactive?: boolean; fetch?: FetchLike } = {}): FetchLike {
  const next: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  return withOAuthSession(session, options.interactive === false ? { interactive: () => false } : {})(next);
}

/** What the bridge adds to its sign-in: a host's request waits for it only so long ({@linkcode signInForHost}). */
export type ForHost = Pick<HostSignInOptions, 'requestWaitMs' | 'logSettings' | 'network'>;

/**
 * `{ fetch }` for a bridge or probe command: signed in when OAuth is on, `{}` when it is off.
 * The probe passes `interactive: false`: it uses a stored sign-in and never opens a browser. The
 * bridge passes `forHost`: a sign-in runs in a process of its own, and a host request waits for
 * it at most `requestWaitMs`.
 */
export function oauthFetchFor(
  command: { readonly url: URL; readonly oauth: OAuthFlags | undefined },
  log: SignInLog,
  options: { interactive?: boolean; env?: NodeJS.ProcessEnv; fetch?: FetchLike; forHost?: ForHost } = {},
): { fetch?: typeof fetch } {
  if (command.oauth === undefined) return {};
  const env = options.env ?? process.env;
  const own = createCliSession(command.url, command.oauth, { log, env });
  const session =
    options.forHost === undefined ? own : signInForHost(own, { ...options.forHost, url: command.url, flags: command.oauth, log, env });
  return { fetch: createOAuthFetch(session, options) as typeof fetch };
}

function showPrompt(log: SignInLog, where: string, prompt: SignInPrompt): void {
  const message = promptMessage(where, prompt);
  log[message.level](message.text);
}

function logEvent(log: SignInLog, where: string, event: OAuthEvent): void {
  const fields: LogFields = { server: where };
  switch (event.type) {
    case 'waiting': {
      const until = event.prompt?.expiresAt ?? event.until;
      log.info(
        `waiting for another mcp-lifeline process to finish ${event.purpose === 'refresh' ? 'refreshing the token' : 'signing in'}` +
          `${until === undefined ? '' : ` (it waits for you until ${untilText(until)})`}`,
        { ...fields, pid: event.pid, doing: event.purpose },
      );
      if (event.prompt !== undefined) showPrompt(log, where, event.prompt);
      return;
    }
    case 'holder-prompt':
      showPrompt(log, where, event.prompt);
      return;
    case 'token-adopted':
      log.debug('using the token another process obtained', fields);
      return;
    case 'refreshed':
      log.info('token refreshed', { ...fields, ms: event.ms });
      return;
    case 'refresh-rejected':
      log.info('the refresh token was refused; a new sign-in is needed', { ...fields, said: event.message });
      return;
    case 'sign-in-started':
      log.info('signing in', { ...fields, flow: event.flow, scope: event.scope });
      return;
    case 'signed-in':
      log.info('signed in', { ...fields, flow: event.flow, scope: event.scope, ms: event.ms });
      return;
    case 'sign-in-failed':
      // The error reaches the request that started the sign-in, and is logged (or printed) once there.
      log.debug(`sign-in failed: ${event.message}`, { ...fields, code: event.code });
      return;
    case 'step-up':
      log.info('the server asks for more scope; signing in again', { ...fields, scope: event.scope });
      return;
    case 'callback-ignored':
      log.warn('ignored a request to the sign-in callback that was not this sign-in (answered 400); still waiting', {
        ...fields,
        reason: event.reason,
      });
      return;
    case 'stored-sign-in-refused':
      log.warn(`the stored sign-in is not used: ${event.message}`, fields);
      return;
    case 'store-repaired':
      log.warn(storeRepairedText(event.directory, event.mode));
      return;
  }
}
