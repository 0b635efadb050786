import { LifelineError } from '../errors/LifelineError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { readPrefix } from '../shared/read-prefix.js';
import { redactIds } from '../shared/redact.js';
import type { AnyFetch } from './outgoing-request.js';
import { sendOwnRequest } from './own-request.js';
import { type JsonRpcAnswer, readJsonRpcAnswer } from './read-answer.js';

/** Why a re-initialization failed, in words, with the HTTP answer when there was one. */
export class HandshakeFailure extends LifelineError<'HANDSHAKE_FAILED'> {
  override name = 'HandshakeFailure' as const;
  /** The server's answer to the step that failed, when it answered with an error status. */
  readonly response: { readonly status: number; readonly headers: Headers } | undefined;
  /** The session `initialize` opened before a later step failed: abandoned, to be ended. */
  readonly openedSessionId: string | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; response?: { status: number; headers: Headers } | undefined; openedSessionId?: string | undefined } = {},
  ) {
    super('HANDSHAKE_FAILED', message, { cause: options.cause });
    this.response = options.response === undefined ? undefined : { status: options.response.status, headers: options.response.headers };
    this.openedSessionId = options.openedSessionId;
  }
}

/** What the handshake needs: how to reach the server, what to say, what to restore. */
export interface HandshakePlan {
  readonly next: AnyFetch;
  readonly url: string;
  /** The triggering request's headers: they carry the freshest credentials. */
  readonly headers: Headers;
  readonly initializeParams: unknown;
  readonly timeout: number;
  /** Makes a JSON-RPC id no client message uses. */
  readonly newId: (purpose: string) => string;
  readonly restore: { readonly logLevel: string | undefined; readonly subscriptions: readonly string[] } | undefined;
  /**
   * Removes secrets and session ids from what the server said, before it goes into a message.
   * @default no change
   */
  readonly scrub?: ((text: string) => string) | undefined;
}

/** The new session. */
export interface HandshakeResult {
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
  readonly serverInfo: unknown;
  readonly capabilities: unknown;
  readonly restored: { readonly logLevel: string | undefined; readonly subscriptions: number; readonly failures: string[] } | undefined;
}

// Headers that belong to the lost session or to the message that triggered recovery.
const SESSION_HEADERS = ['mcp-session-id', 'last-event-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'content-length'];

/**
 * Opens a new session the way the client opened the lost one: `initialize` with the client's own
 * params, then `notifications/initialized`, then the lost session's log level and subscriptions
 * (MCP 2025-11-25, basic/lifecycle §Initialization). Each request is bounded by `plan.timeout`.
 */
export async function reinitialize(options: HandshakePlan): Promise<HandshakeResult> {
  const plan: Plan = { ...options, scrub: options.scrub ?? ((text) => text) };
  const base = new Headers(plan.headers);
  for (const name of SESSION_HEADERS) base.delete(name);
  base.set('content-type', 'application/json');
  base.set('accept', 'application/json, text/event-stream');

  const initializeId = plan.newId('initialize');
  const answer = await call(plan, base, 'initialize', {
    jsonrpc: '2.0',
    id: initializeId,
    method: 'initialize',
    params: plan.initializeParams,
  });
  const { sessionId } = answer;
  // From here on, what the server says may quote the new session's id too.
  const sessionPlan: Plan = { ...plan, scrub: (text) => redactIds(plan.scrub(text), [sessionId]) };
  let result: Record<string, unknown>;
  let protocolVersion: string | undefined;
  const session = new Headers(base);
  try {
    result = requireResult(sessionPlan, 'initialize', answer.answer);
    protocolVersion = typeof result['protocolVersion'] === 'string' ? result['protocolVersion'] : undefined;
    if (sessionId !== undefined) session.set('mcp-session-id', sessionId);
    if (protocolVersion !== undefined) session.set('mcp-protocol-version', protocolVersion);
    await notify(sessionPlan, session, 'notifications/initialized');
  } catch (error) {
    // The new session is of no use: hand its id back so it can be ended, not left to expire.
    const failure = error as HandshakeFailure;
    throw new HandshakeFailure(failure.message, { cause: failure.cause, openedSessionId: sessionId, response: failure.response });
  }

  return {
    sessionId,
    protocolVersion,
    serverInfo: result['serverInfo'],
    capabilities: result['capabilities'],
    restored: plan.restore === undefined ? undefined : await restore(sessionPlan, session, plan.restore),
  };
}

type Plan = HandshakePlan & { readonly scrub: (text: string) => string };

async function restore(
  plan: Plan,
  session: Headers,
  state: NonNullable<HandshakePlan['restore']>,
): Promise<NonNullable<HandshakeResult['restored']>> {
  const steps: { label: string; method: string; params: Record<string, unknown> }[] = [];
  if (state.logLevel !== undefined) {
    steps.push({ label: `logging/setLevel ${state.logLevel}`, method: 'logging/setLevel', params: { level: state.logLevel } });
  }
  for (const uri of state.subscriptions) {
    steps.push({ label: `resources/subscribe ${uri}`, method: 'resources/subscribe', params: { uri } });
  }
  const outcomes = await Promise.allSettled(
    steps.map(async ({ method, params }) => {
      const id = plan.newId('restore');
      requireResult(plan, method, (await call(plan, session, method, { jsonrpc: '2.0', id, method, params })).answer);
    }),
  );
  const failures = outcomes.flatMap((outcome, index) =>
    outcome.status === 'rejected' ? [plan.scrub(`${steps[index]?.label}: ${networkErrorText(outcome.reason)}`)] : [],
  );
  return { logLevel: state.logLevel, subscriptions: state.subscriptions.length, failures };
}

async function call(
  plan: Plan,
  headers: Headers,
  step: string,
  message: { id: string } & Record<string, unknown>,
): Promise<{ answer: JsonRpcAnswer; sessionId: string | undefined }> {
  const signal = AbortSignal.timeout(plan.timeout);
  const response = await post(plan, headers, step, message, signal);
  const sessionId = response.headers.get('mcp-session-id') ?? undefined;
  try {
    return { answer: await readJsonRpcAnswer(response, message.id), sessionId };
  } catch (error) {
    throw new HandshakeFailure(`${step}: ${networkErrorText(error, plan.timeout)}`, { cause: error });
  }
}

async function notify(plan: Plan, headers: Headers, method: string): Promise<void> {
  const response = await post(plan, headers, method, { jsonrpc: '2.0', method }, AbortSignal.timeout(plan.timeout));
  await response.body?.cancel().catch(() => {});
}

async function post(plan: Plan, headers: Headers, step: string, message: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await sendOwnRequest(plan.next, plan.url, { method: 'POST', headers, body: JSON.stringify(message), signal });
  } catch (error) {
    throw new HandshakeFailure(`${step}: ${networkErrorText(error, plan.timeout)}`, { cause: error });
  }
  if (!response.ok) {
    const prefix = await readPrefix(response, 512);
    await prefix.discard();
    const said = plan.scrub(prefix.text.trim()).slice(0, 200);
    throw new HandshakeFailure(
      `${step} was answered with HTTP ${response.status}${said === '' ? '' : ` "${said}"`}${hintFor(response.status)}`,
      { response },
    );
  }
  return response;
}

function requireResult(plan: Plan, step: string, answer: JsonRpcAnswer): Record<string, unknown> {
  if (answer.result !== undefined) return answer.result;
  const { code, message } = answer.error ?? {};
  throw new HandshakeFailure(`${step} returned JSON-RPC error ${code ?? '(no code)'} "${plan.scrub(String(message ?? '')).slice(0, 200)}"`);
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return ' (the server refused the credentials sent with the request)';
  if (status === 404 || status === 405) return ' (the endpoint no longer accepts MCP requests at this URL)';
  return '';
}
