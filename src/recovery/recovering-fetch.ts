import { AnswerJudge } from './answer-judge.js';
import { AnswerWatch } from './answer-watch.js';
import { EventReporter } from './event-reporter.js';
import type { ResolvedOptions } from './options.js';
import {
  type AnyFetch,
  type FetchInput,
  fromRequestInput,
  headerOf,
  isRequestInput,
  type OutgoingRequest,
  type RequestBody,
  toOutgoingRequest,
} from './outgoing-request.js';
import { RecoveryContext } from './recovery-context.js';
import { RecoveryFlight } from './recovery-flight.js';
import { Replayer } from './replayer.js';
import { RestartWindow } from './restart-window.js';
import { SessionDirectory } from './session-directory.js';
import { SessionExchange } from './session-exchange.js';
import { keepAliveStarter } from './session-keep-alive.js';
import type { SessionKeeper } from './session-keeper.js';
import { endpointOf, initializeParamsOf } from './session-record.js';

/** How the fetch of {@linkcode createRecoveringFetch} is set up beyond its options (for the gateway). */
export interface RecoveringFetchSetup {
  /**
   * Whether answers show the client's session id in place of the server's. The gateway's route
   * says no: it puts its own session id on every answer anyway, and the copy of the server's
   * headers that showing it takes is 3 % of a call. @default true
   */
  readonly presentsSessionIds?: boolean;
}

/**
 * The fetch that {@linkcode withSessionRecovery} wraps around `next`. Requests that carry no
 * session the middleware knows go to `next` untouched; the rest are watched for session loss.
 *
 * The rule (issue 8): a request is replayed only when the server's answer proves it was not
 * processed (404 to a request with a session id, a session check's 400) or when a `ping` on the
 * same session confirms an answer that merely reads like session loss. Anything else reaches the
 * client as the server sent it.
 *
 * This adapter only routes, by the session header and the method; the parts do the work: each
 * session's keeper (session-keeper.ts), the directory of sessions, the exchange of a request on
 * a session, judging an answer, watching a successful one, single-flight recovery, replaying.
 */
export function createRecoveringFetch(next: AnyFetch, config: ResolvedOptions, how: RecoveringFetchSetup = {}): AnyFetch {
  // Everything the middleware sends, the client's requests and its own, waits for a server that
  // restarts (option `restartWindow`).
  const events = new EventReporter(config.onEvent);
  const window = new RestartWindow({ windowMs: config.restartWindow, events });
  const deliver: AnyFetch = (input, init) => window.send(next, input, init);
  const context = new RecoveryContext(deliver, config, events, how.presentsSessionIds ?? true);
  const judge = new AnswerJudge(context);
  const flight = new RecoveryFlight(context);
  const watch = new AnswerWatch(context, judge);
  const replayer = new Replayer(context, { judge, flight, watch });
  const directory = new SessionDirectory(context, keepAliveStarter(context, judge));
  const sessions = new SessionExchange(context, { judge, flight, watch, replayer, directory });
  const { sharing } = config;

  // Not async: a request on a known session goes out at once and its answer's promise comes back as
  // it is (an async function would add two turns of the microtask queue to every answer). What
  // throws still comes back as a rejected promise, as from fetch.
  return function fetchWithSessionRecovery(input: FetchInput, init?: RequestInit): Promise<Response> {
    try {
      const alias = headerOf(input, init, 'mcp-session-id');
      if (alias === null) return withoutSession(input, init);
      const keeper = directory.find(alias);
      if (keeper === undefined && sharing !== undefined) {
        return directory.load(alias, urlOf(input)).then((loaded) => onSession(loaded, input, init));
      }
      return onSession(keeper, input, init);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /** A request that names a session: sent on it when this middleware knows it (on this endpoint), else as it is. */
  function onSession(keeper: SessionKeeper | undefined, input: FetchInput, init: RequestInit | undefined): Promise<Response> {
    if (keeper === undefined || keeper.endpoint !== endpointOf(urlOf(input))) return deliver(input, init);
    if (isRequestInput(input)) return fromRequestInput(input, init).then((request) => route(keeper, request));
    return route(keeper, toOutgoingRequest(input, init));
  }

  function route(keeper: SessionKeeper, request: OutgoingRequest): Promise<Response> {
    if (request.method === 'DELETE') return sessions.terminate(keeper, request);
    if (request.method === 'GET') return sessions.openStream(keeper, request);
    return sessions.exchange(keeper, request);
  }

  /** A request without a session id: the client's initialize opens one; anything else goes as it is. */
  async function withoutSession(input: FetchInput, init: RequestInit | undefined): Promise<Response> {
    const initialize = isPost(input, init) ? initializeParamsOf(await postBody(input, init)) : undefined;
    if (initialize === undefined) return deliver(input, init);
    return openSession(input, init, initialize.params);
  }

  /** The client's own initialize: remember its params and the session the server issues. */
  async function openSession(input: FetchInput, init: RequestInit | undefined, params: unknown): Promise<Response> {
    const response = await deliver(input, init);
    const sessionId = response.headers.get('mcp-session-id');
    // No session id: a stateless server (or a 2026-07-28 one); nothing to recover, nothing kept.
    if (!response.ok || !sessionId) return response;
    const headerSource = init?.headers ?? (isRequestInput(input) ? input.headers : undefined);
    directory.opened(sessionId, urlOf(input), { initializeParams: params, headerSource });
    return response;
  }
}

function isPost(input: FetchInput, init: RequestInit | undefined): boolean {
  const method = init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
  return method.toUpperCase() === 'POST';
}

/** The body of a POST, reading a `Request` input's body from a clone (the original goes to `next`). */
async function postBody(input: FetchInput, init: RequestInit | undefined): Promise<RequestBody> {
  if (init?.body !== undefined || typeof input !== 'object' || !('clone' in input)) return init?.body;
  return input.body === null ? undefined : input.clone().text();
}

function urlOf(input: FetchInput): string {
  return typeof input === 'string' ? input : 'href' in input ? input.href : input.url;
}
