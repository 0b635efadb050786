// STAND-IN until the lead's 2025 Streamable HTTP upstream lands on main (same name, same shape);
// it is deleted then. Just enough for the era negotiation to delegate to: POST each message
// through withSessionRecovery and deliver what comes back. No server stream (GET).

import { networkErrorText } from '../errors/network-error-text.js';
import { describeUrl } from '../recovery/redact.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import { readJsonRpcBody } from './json-rpc-body.js';
import { readBoundedBody } from './read-bounded-body.js';
import { quoteExcerpt } from './response-excerpt.js';
import { type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';

export function createStreamableHttpUpstream(options: UpstreamOptions): Upstream {
  const fetchWithRecovery = withSessionRecovery({ timeout: options.timeoutMs })(options.fetch);
  const where = describeUrl(options.url.href);
  const lifetime = new AbortController();
  let sessionId: string | undefined;
  let protocolVersion: string | undefined;
  const headers = () => ({
    ...options.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
    ...(protocolVersion === undefined ? {} : { 'mcp-protocol-version': protocolVersion }),
  });
  return {
    era: '2025-streamable-http',
    async send(message, sendOptions) {
      let response: Response;
      try {
        response = await fetchWithRecovery(options.url, {
          method: 'POST',
          headers: headers(),
          body: sendOptions?.raw ?? JSON.stringify(message),
          signal: sendOptions?.signal === undefined ? lifetime.signal : AbortSignal.any([sendOptions.signal, lifetime.signal]),
        });
      } catch (error) {
        throw new UpstreamError(`cannot reach ${where}: ${networkErrorText(error)}`, { mayHaveRun: true, cause: error });
      }
      if (!response.ok) {
        const said = quoteExcerpt(await readBoundedBody(response, 512));
        throw new UpstreamError(`${where} answered HTTP ${response.status}${said}`, { mayHaveRun: false, status: response.status });
      }
      if (message.method === 'initialize') sessionId = response.headers.get('mcp-session-id') ?? undefined;
      void readJsonRpcBody(response, {
        maxMessageSize: 16 * 1024 * 1024,
        onMessage(received, raw) {
          const version = (received.result as { protocolVersion?: unknown } | undefined)?.protocolVersion;
          if (message.method === 'initialize' && received.id === message.id && typeof version === 'string') protocolVersion = version;
          options.sink.message(received, raw);
        },
      }).catch(() => {});
    },
    async end() {
      if (sessionId === undefined) return;
      await fetchWithRecovery(options.url, { method: 'DELETE', headers: headers(), signal: AbortSignal.timeout(options.timeoutMs) }).catch(
        () => {},
      );
    },
    async close() {
      lifetime.abort();
    },
  };
}
