import { mediaType } from '../shared/media-type.js';
import { readTextPrefix } from '../shared/read-prefix.js';
import { describeUrl } from '../shared/redact.js';
import { classifyDiscoverAnswer, type DiscoverEvidence, type EraVerdict } from './classify-discover-answer.js';
import { fetchFailureText, speaksForItself } from './fetch-failure-text.js';
import { BodyFormatError, readJsonRpcBody } from './json-rpc-body.js';
import { MODERN_PROTOCOL_VERSION, stampEnvelope, standardHeaders } from './modern-request.js';
import { followSameOriginRedirects } from './same-origin-redirects.js';

/** What the probe needs: where, with which headers, and who asks (the host's initialize). */
export interface DiscoverPlan {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
  readonly timeoutMs: number;
  /** The host's `initialize` params: its capabilities and identity go in the probe's envelope. */
  readonly hostInitialize?: Record<string, unknown> | undefined;
}

const PROBE_ID = 'mcp-lifeline-discover';
// A DiscoverResult is a few KiB; an answer far larger is not one.
const MAX_ANSWER = 1024 * 1024;

/**
 * Sends ONE `server/discover` request (2026-07-28 server/discover) with a full envelope and the
 * standard headers, bounded by `timeoutMs`, and classifies the answer. A timeout or network
 * failure is an error verdict, never an era.
 */
export async function probeServerEra(plan: DiscoverPlan): Promise<EraVerdict> {
  const where = describeUrl(plan.url.href);
  const params = stampEnvelope(undefined, {
    protocolVersion: MODERN_PROTOCOL_VERSION,
    clientCapabilities: (plan.hostInitialize?.['capabilities'] as Record<string, unknown> | undefined) ?? {},
    clientInfo: plan.hostInitialize?.['clientInfo'] ?? { name: 'mcp-lifeline', version: '0' },
  });
  const signal = AbortSignal.timeout(plan.timeoutMs);
  try {
    const response = await followSameOriginRedirects(plan.fetch)(plan.url, {
      method: 'POST',
      headers: {
        ...plan.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...standardHeaders('server/discover', params, MODERN_PROTOCOL_VERSION),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: PROBE_ID, method: 'server/discover', params }),
      signal,
    });
    return classifyDiscoverAnswer(await readEvidence(response));
  } catch (error) {
    return {
      kind: 'error',
      message: speaksForItself(error)
        ? error.message
        : `cannot reach ${where} for initialize: ${fetchFailureText(error, plan.timeoutMs)} (asking server/discover which protocol it speaks)`,
    };
  }
}

async function readEvidence(response: Response): Promise<DiscoverEvidence> {
  const { status } = response;
  const contentType = response.headers.get('content-type');
  const type = mediaType(contentType);
  const challenge = response.headers.get('www-authenticate');
  if (type !== 'application/json' && type !== 'text/event-stream') {
    return { kind: 'other', status, contentType, body: await readTextPrefix(response, 512), challenge };
  }
  let answer: { result?: unknown; error?: Record<string, unknown> } | undefined;
  try {
    await readJsonRpcBody(response, {
      maxMessageSize: MAX_ANSWER,
      onMessage(message) {
        // 4xx answers to a refused request may carry id null (or none): they still answer the probe.
        if (message.method === undefined && (message.id === PROBE_ID || message.error !== undefined)) answer ??= message;
      },
      done: () => answer !== undefined,
    });
  } catch (error) {
    if (!(error instanceof BodyFormatError)) throw error;
    return { kind: 'other', status, contentType, body: `(${error.message})`, challenge };
  }
  if (answer === undefined) return { kind: 'other', status, contentType, body: '', challenge };
  return { kind: 'json-rpc', status, result: answer.result, error: answer.error, challenge };
}
