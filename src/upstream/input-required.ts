import { LifelineError } from '../errors/LifelineError.js';
import type { JsonRpcMessage } from '../shared/json-rpc.js';

/** One round of a multi round-trip request: what the server needs before it can finish. */
export interface InputRequiredResult {
  readonly inputRequests?: Record<string, { readonly method?: unknown; readonly params?: unknown }> | undefined;
  readonly requestState?: string | undefined;
}

/** The host, as the MRTR driver sees it: who it is and how to ask it something. */
export interface InputHost {
  /** The capabilities the host declared in its `initialize`. */
  readonly capabilities: Record<string, unknown>;
  /** The protocol version the host asked for. */
  readonly protocolVersion: string | undefined;
  /** Sends the host a request and resolves with its answer (result or error). */
  ask(method: string, params: Record<string, unknown>): Promise<JsonRpcMessage>;
}

/** An input request that cannot reach this host, or that the host refused. */
class InputBridgeError extends LifelineError<'INPUT_NOT_BRIDGED'> {
  override name = 'InputBridgeError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('INPUT_NOT_BRIDGED', message, options);
  }
}

/**
 * Fulfils one `input_required` round through the host (2026-07-28 basic/patterns/mrtr): each
 * input request becomes a server-to-client request the 2025 host knows (elicitation, sampling,
 * roots), asked concurrently; the answers become `inputResponses`. A request the host did not
 * declare the capability for, or cannot understand, is refused with a clear error rather than
 * sent (URL elicitation to a host older than 2025-11-25, for one).
 */
export async function fulfilInputRequests(round: InputRequiredResult, host: InputHost): Promise<Record<string, unknown>> {
  const entries = Object.entries(round.inputRequests ?? {});
  const asked = entries.map(([key, request]) => {
    const method = typeof request.method === 'string' ? request.method : '(no method)';
    const params = adaptParams(method, (request.params ?? {}) as Record<string, unknown>, host);
    return host.ask(method, params).then((answer) => {
      if (answer.error !== undefined) {
        throw new InputBridgeError(`the host answered ${method} with error ${answer.error.code} "${answer.error.message}"`);
      }
      return [key, answer.result] as const;
    });
  });
  return Object.fromEntries(await Promise.all(asked));
}

/** The params to send the host, or an error when the host cannot take this request. */
function adaptParams(method: string, params: Record<string, unknown>, host: InputHost): Record<string, unknown> {
  const capabilities = host.capabilities;
  switch (method) {
    case 'elicitation/create': {
      const elicitation = capabilities['elicitation'] as Record<string, unknown> | undefined;
      if (elicitation === undefined) throw missing(method, 'elicitation');
      const mode = params['mode'] ?? 'form';
      if (mode === 'url') {
        // 2025-11-25 client/elicitation: URL mode exists from that revision on, when declared.
        if (elicitation['url'] === undefined) throw missing('URL elicitation', 'elicitation.url');
        return { elicitationId: crypto.randomUUID(), ...params };
      }
      // 2025-06-18 knows form elicitation without the `mode` field.
      if (host.protocolVersion !== undefined && host.protocolVersion < '2025-11-25') {
        const { mode: _mode, ...form } = params;
        return form;
      }
      return params;
    }
    case 'sampling/createMessage':
      if (capabilities['sampling'] === undefined) throw missing(method, 'sampling');
      return params;
    case 'roots/list':
      if (capabilities['roots'] === undefined) throw missing(method, 'roots');
      return params;
    default:
      throw new InputBridgeError(`the server asked for input with ${method}, which 2025 hosts do not know`);
  }
}

function missing(what: string, capability: string): InputBridgeError {
  return new InputBridgeError(`the server needs ${what}, but the host did not declare the "${capability}" capability`);
}

/** The params of the retry: the original ones, the answers, and the server's state echoed as is. */
export function retryParams(
  original: Record<string, unknown> | undefined,
  inputResponses: Record<string, unknown>,
  requestState: string | undefined,
): Record<string, unknown> {
  const { inputResponses: _previous, requestState: _state, ...params } = original ?? {};
  return { ...params, inputResponses, ...(requestState === undefined ? {} : { requestState }) };
}
