// The restart window: a request that could not be delivered (undelivered.ts) waits for the server
// to come back, up to `restartWindow`, instead of failing at once; a redeploy is a gap of seconds.
// One request at a time tries the server while it is down (server-reach.ts), the others wait for
// it. Nothing that may have reached the server is sent again.
import { networkErrorText } from '../errors/network-error-text.js';
import { ServerUnreachableError } from '../errors/ServerUnreachableError.js';
import { summarizeJsonRpc } from '../shared/json-rpc.js';
import { describeUrl } from '../shared/redact.js';
import type { EventReporter } from './event-reporter.js';
import { type AnyFetch, bodyText, type FetchInput, isReplayableBody, isRequestInput } from './outgoing-request.js';
import { ServerReach } from './server-reach.js';
import { undeliveredCause } from './undelivered.js';

// Servers whose reachability is remembered; past this, the longest-known one that is not down is forgotten.
const MAX_SERVERS = 64;

/** Sends requests through `next`, waiting for a server that restarts. */
export class RestartWindow {
  private readonly windowMs: number;
  private readonly events: EventReporter;
  private readonly servers = new Map<string, ServerReach>();
  private lastUrl: { readonly url: string; readonly origin: string | undefined } = { url: '', origin: undefined };

  constructor(options: { readonly windowMs: number; readonly events: EventReporter }) {
    this.windowMs = options.windowMs;
    this.events = options.events;
  }

  /**
   * `next(input, init)`, and again while it could not be delivered, until the server answers or
   * the window (counted from the request's first failure, or from when it started waiting) closes.
   */
  async send(next: AnyFetch, input: FetchInput, init?: RequestInit): Promise<Response> {
    const url = urlOf(input);
    const origin = this.originOf(url);
    if (origin === undefined) return next(input, init);
    const reach = this.reachOf(origin);
    const signal = init?.signal ?? (isRequestInput(input) ? input.signal : undefined) ?? undefined;
    const resendable = this.windowMs > 0 && canResend(input, init);
    // The window opens at the request's first failure, or when it first waits behind another's.
    let opened: number | undefined;
    let failure: unknown;
    const deadline = () => (opened as number) + this.windowMs;
    for (;;) {
      let turn = false;
      if (resendable && reach.phase.kind === 'down') {
        opened ??= Date.now();
        let outcome: Awaited<ReturnType<ServerReach['wait']>>;
        try {
          outcome = await reach.wait(deadline(), signal);
        } catch (error) {
          // The request's own time ran out while it waited: say why it was never sent.
          if ((error as Error | undefined)?.name === 'TimeoutError') {
            throw this.gaveUp({ url, init, reach, failure, waitedMs: Date.now() - opened }, error);
          }
          throw error;
        }
        if (outcome === 'expired') throw this.gaveUp({ url, init, reach, failure, waitedMs: Date.now() - opened });
        turn = reach.phase.kind === 'down';
      }
      try {
        const response = await next(input, init);
        const ended = reach.answered(Date.now());
        if (ended !== undefined) this.events.serverReachable(origin, ended);
        return response;
      } catch (error) {
        const cause = resendable ? undeliveredCause(error, reach.seen) : undefined;
        if (cause === undefined || !reach.seen) {
          if (turn) reach.turnReturned();
          throw error;
        }
        const now = Date.now();
        opened ??= now;
        failure = error;
        const reason = networkErrorText(error);
        if (reach.undelivered(now, reason, turn)) this.events.serverUnreachable(origin, { reason, windowMs: this.windowMs });
        if (now >= deadline()) throw this.gaveUp({ url, init, reach, failure, waitedMs: now - opened });
      }
    }
  }

  /** The origin of `url`; the last one is remembered (a client talks to one endpoint, and parsing a URL costs µs a call). */
  private originOf(url: string): string | undefined {
    if (url !== this.lastUrl.url) this.lastUrl = { url, origin: URL.canParse(url) ? new URL(url).origin : undefined };
    return this.lastUrl.origin;
  }

  private reachOf(origin: string): ServerReach {
    let reach = this.servers.get(origin);
    if (reach !== undefined) return reach;
    reach = new ServerReach();
    this.servers.set(origin, reach);
    if (this.servers.size > MAX_SERVERS) {
      for (const [known, state] of this.servers) {
        if (state.phase.kind === 'down') continue;
        this.servers.delete(known);
        break;
      }
    }
    return reach;
  }

  private gaveUp(
    given: { url: string; init: RequestInit | undefined; reach: ServerReach; failure: unknown; waitedMs: number },
    timeout?: unknown,
  ): ServerUnreachableError {
    const { phase } = given.reach;
    const reason =
      given.failure !== undefined ? networkErrorText(given.failure) : phase.kind === 'down' ? phase.cause : 'the server did not answer';
    const method = (given.init?.method ?? 'GET').toUpperCase();
    const rpcMethod = method === 'POST' ? summarizeJsonRpc(bodyText(given.init?.body)).rpcMethod : undefined;
    return new ServerUnreachableError(
      { request: { method, url: describeUrl(given.url), rpcMethod }, reason, waitedMs: given.waitedMs, windowMs: this.windowMs },
      { cause: given.failure ?? timeout },
    );
  }
}

/**
 * Whether the request waits for the server: it can be sent again as it is (no `Request` body to
 * re-read, no stream body), and it is not a DELETE (ending a session on a server that went away
 * is not worth a wait: its sessions went with it, and a shutdown should not stall on it).
 */
function canResend(input: FetchInput, init: RequestInit | undefined): boolean {
  const method = (init?.method ?? (isRequestInput(input) ? input.method : 'GET')).toUpperCase();
  if (method === 'DELETE') return false;
  if (isRequestInput(input) && input.body !== null && init?.body === undefined) return false;
  return isReplayableBody(init?.body);
}

function urlOf(input: FetchInput): string {
  return typeof input === 'string' ? input : 'href' in input ? input.href : input.url;
}
