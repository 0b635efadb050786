// The bridge's sign-in, for its host. A host gives up on a request after its own timeout (the
// official SDKs: 60 s) and then closes the bridge, while a person may take minutes to sign in. So
// a sign-in the host's request needs runs in a process of its own (background-sign-in.ts), which
// outlives the bridge; the request waits for it at most --oauth-request-wait, then is answered
// with what to do (SIGN_IN_PENDING). A bridge that finds a sign-in in progress (the lease held
// for it, by any process) joins it: it waits on the lease and takes the tokens it stores.
import { type LeaseOwner, leaseHolder } from '../auth/lease.js';
import type { OAuthSession, RenewRequest } from '../auth/oauth-session.js';
import { createOAuthStore, defaultStoreDirectory } from '../auth/oauth-store.js';
import { isSignInError, SignInError } from '../auth/SignInError.js';
import { DEFAULT_OAUTH_SESSION_OPTIONS } from '../auth/session-options.js';
import { sleep } from '../shared/timers.js';
import type { OAuthFlags } from './auth-args.js';
import { type BackgroundSignIn, networkTask, type StartedSignIn, startBackgroundSignIn } from './background-sign-in.js';
import { untilText } from './duration-text.js';
import type { LogFormat, Logger, LogLevel } from './logger.js';
import type { NetworkSettings } from './network-args.js';
import { joinText, pendingText, promptMessage } from './sign-in-messages.js';

/** How the bridge signs in for its host. */
export interface HostSignInOptions {
  readonly url: URL;
  readonly flags: OAuthFlags;
  /** `--oauth-request-wait`: a host request waits this long for a sign-in, then gets SIGN_IN_PENDING. */
  readonly requestWaitMs: number;
  readonly log: Pick<Logger, 'error' | 'warn' | 'info' | 'debug'>;
  readonly env: NodeJS.ProcessEnv;
  /** The bridge's log settings, which the background sign-in writes to its `--log-file` with. */
  readonly logSettings: { readonly file: string | undefined; readonly level: LogLevel; readonly format: LogFormat };
  /** The bridge's `--proxy` and `--ca-file`, which the background sign-in uses too. */
  readonly network: NetworkSettings;
}

// How often a waiting request looks at the lease; how long a started process may take to take it.
const POLL_MS = 100;
const START_BOUND_MS = 10_000;
// Past the request's bound, how much longer it waits for the sign-in to say what the user must do
// (the URL, when no browser opened): an answer without it would leave the user guessing.
const PROMPT_GRACE_MS = 5_000;

/** The sign-in this bridge started, if any: its process, and since when. */
type Background =
  | { readonly phase: 'none' }
  | { readonly phase: 'started'; readonly at: number; readonly process: StartedSignIn; ended: boolean };

/**
 * The session as the bridge uses it: a renewal that may need the user (the browser or device
 * flow) goes through {@linkcode HostSignIn.renew}; every other renewal, and the client-credentials
 * flow (no user), is the session's own.
 */
export function signInForHost(session: OAuthSession, options: HostSignInOptions): OAuthSession {
  if (options.flags.flow === 'client-credentials') return session;
  const host = createHostSignIn(session, options);
  return { ...session, renew: (request) => (request.interactive ? host.renew(request) : session.renew(request)) };
}

interface HostSignIn {
  renew(request: RenewRequest): Promise<string>;
}

function createHostSignIn(session: OAuthSession, options: HostSignInOptions): HostSignIn {
  const { log, url } = options;
  const where = url.origin + url.pathname;
  const store = createOAuthStore(defaultStoreDirectory(options.env));
  const file = store.fileOf(url);
  const state: { background: Background; told: Set<string> } = { background: { phase: 'none' }, told: new Set() };

  /** Says once per sign-in that it was joined, and once per prompt what the user must do. */
  function tell(owner: LeaseOwner): void {
    const joined = `${owner.pid} ${owner.since}`;
    const started = state.background.phase === 'started' && state.background.process.pid === owner.pid;
    if (!started && !state.told.has(joined)) {
      state.told.add(joined);
      log.info(joinText(where, owner, options.requestWaitMs));
    }
    if (owner.prompt !== undefined && !state.told.has(`${joined} prompt`)) {
      state.told.add(`${joined} prompt`);
      const message = promptMessage(where, owner.prompt);
      log[message.level](message.text);
    }
  }

  /**
   * Waits while a sign-in holds the lease; `released: false` when the deadline came first (and the
   * sign-in has said what the user must do, or the grace for that ran out too).
   */
  async function waitWhileSigningIn(deadline: number): Promise<{ released: boolean; owner: LeaseOwner | undefined }> {
    let owner: LeaseOwner | undefined;
    for (;;) {
      const holder = await leaseHolder(file);
      if (holder === undefined) return { released: true, owner };
      owner = holder.owner ?? owner;
      if (owner !== undefined) tell(owner);
      const until = owner?.prompt === undefined ? deadline + PROMPT_GRACE_MS : deadline;
      if (Date.now() >= until) return { released: false, owner };
      await sleep(Math.min(POLL_MS, until - Date.now()), { onAbort: 'resolve', unref: true });
    }
  }

  /** Nobody signs in and nothing stored serves: the outcome of the sign-in this bridge started, or a new one. */
  async function startOrReport(request: RenewRequest, deadline: number): Promise<void> {
    const last = (await store.read(url))?.record.lastSignIn;
    const background = state.background;
    const outcome = last !== undefined && last.at >= (background.phase === 'started' ? background.at : Number.POSITIVE_INFINITY);
    if (background.phase === 'started') {
      if (outcome && !last.ok) {
        state.background = { phase: 'none' };
        throw new SignInError(
          (last.code as SignInError['code'] | undefined) ?? 'SIGN_IN_FAILED',
          `${last.message ?? `sign-in to ${where} failed`}. Try again by connecting again, or run: mcp-lifeline login ${where}`,
        );
      }
      if (!background.ended && !outcome && Date.now() - background.at < START_BOUND_MS) {
        // Still starting: it takes the lease in a moment.
        while (!background.ended && Date.now() < Math.min(deadline, background.at + START_BOUND_MS)) {
          if ((await leaseHolder(file)) !== undefined) return;
          await sleep(POLL_MS, { onAbort: 'resolve', unref: true });
        }
        return;
      }
      state.background = { phase: 'none' };
      // It signed in, and the server has refused those tokens since: a new sign-in, below.
      if (!(outcome && last.ok)) {
        throw new SignInError(
          'SIGN_IN_FAILED',
          `the sign-in process ${background.process.pid} ended without signing in to ${where}; run: mcp-lifeline login ${where}`,
        );
      }
    }
    const cooldownMs = DEFAULT_OAUTH_SESSION_OPTIONS.signInCooldownMs;
    if (last !== undefined && !last.ok && Date.now() - last.at < cooldownMs) {
      // No tab flood from a host that reconnects at once: the failure, and when a window may open again.
      throw new SignInError(
        (last.code as SignInError['code'] | undefined) ?? 'SIGN_IN_FAILED',
        `${last.message ?? `sign-in to ${where} failed`}${last.pid === process.pid ? '' : ` (the sign-in ran in process ${last.pid})`}. ` +
          `A new sign-in opens from ${untilText(last.at + cooldownMs)} when the host connects again; or run now: mcp-lifeline login ${where}`,
      );
    }
    const task: BackgroundSignIn = {
      url: url.href,
      flags: options.flags,
      challenge: { resourceMetadataUrl: request.challenge?.resourceMetadataUrl?.href, scope: request.challenge?.scope },
      rejected: request.rejected,
      stepUp: request.stepUp ?? false,
      log: options.logSettings,
      network: networkTask(options.network),
    };
    const started = startBackgroundSignIn(task, options.env);
    const mine = { phase: 'started' as const, at: Date.now(), process: started, ended: false };
    state.background = mine;
    void started.exited.then(() => {
      mine.ended = true;
    });
    log.info(
      `signing in to ${where} in a process of its own (${started.pid}), which outlives this one; ` +
        `this request waits for it up to ${Math.round(options.requestWaitMs / 1000)} s`,
    );
  }

  /** SIGN_IN_PENDING: what to do, and until when the sign-in waits (its own word, or its bound from its start). */
  function pending(owner: LeaseOwner | undefined): SignInError {
    const started = owner?.since ?? (state.background.phase === 'started' ? state.background.at : Date.now());
    return new SignInError('SIGN_IN_PENDING', pendingText(where, owner, started + options.flags.signInTimeoutMs));
  }

  return {
    async renew(request) {
      const deadline = Date.now() + options.requestWaitMs;
      // The sign-in this request waited for (its own, or another process's).
      let seen: LeaseOwner | undefined;
      for (;;) {
        const holder = await leaseHolder(file);
        // A sign-in in progress (or a holder that has not said yet what it does): join it.
        if (holder !== undefined && holder.owner?.purpose !== 'refresh' && holder.owner?.purpose !== 'logout') {
          const waited = await waitWhileSigningIn(deadline);
          seen = waited.owner ?? seen;
          if (!waited.released) throw pending(seen);
          continue;
        }
        if (Date.now() >= deadline) throw pending(seen);
        try {
          // What a stored sign-in, another process's tokens or a refresh can give, within the bound.
          const token = await session.renew({ ...request, interactive: false, waitMs: deadline - Date.now() });
          if (seen !== undefined) log.info(`signed in to ${where} (by the sign-in in process ${seen.pid})`);
          return token;
        } catch (error) {
          if (!isSignInError(error) || (error.code !== 'SIGN_IN_REQUIRED' && error.code !== 'LEASE_TIMEOUT')) throw error;
          if (error.code === 'LEASE_TIMEOUT') continue;
        }
        await startOrReport(request, deadline);
      }
    },
  };
}
