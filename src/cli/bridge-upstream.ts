import { createFilteredUpstream } from '../upstream/filtered-upstream.js';
import { createNegotiatingUpstream } from '../upstream/negotiate.js';
import { createStreamableHttpUpstream } from '../upstream/streamable-http.js';
import { createToolFilter } from '../upstream/tool-filter.js';
import type { Upstream, UpstreamOptions, UpstreamSink } from '../upstream/upstream.js';
import type { Command } from './args.js';

type BridgeCommand = Extract<Command, { kind: 'bridge' }>;

/**
 * The upstream of `mcp-lifeline <url>`: the era and transport `--protocol` and `--transport`
 * choose (by default found out at the host's initialize), each with the bridge's bounds, behind
 * the tool filter of `--ignore-tool` and `--allow-tool`.
 */
export function createBridgeUpstream(command: BridgeCommand, through: { sink: UpstreamSink; fetch: UpstreamOptions['fetch'] }): Upstream {
  return createFilteredUpstream(createToolFilter(command.tools), through.sink, (sink) =>
    createEraUpstream(command, { sink, fetch: through.fetch }),
  );
}

function createEraUpstream(command: BridgeCommand, through: { sink: UpstreamSink; fetch: UpstreamOptions['fetch'] }): Upstream {
  const { sink } = through;
  return createNegotiatingUpstream({
    url: command.url,
    headers: command.headers,
    // The signed-in fetch when the server wants OAuth: every era's requests carry the token.
    fetch: through.fetch,
    timeoutMs: command.timeoutMs,
    sink,
    protocol: command.protocol,
    transport: command.transport,
    factories: {
      streamableHttp: (options) =>
        createStreamableHttpUpstream({
          ...options,
          maxMessageBytes: command.maxMessageBytes,
          recovery: {
            restartWindow: command.restartWindowMs,
            ...(command.keepAlive === undefined ? {} : { keepAlive: command.keepAlive }),
          },
        }),
      // The 2024 and 2026 eras' code is loaded when the server speaks them.
      legacySse: async (options) =>
        (await import('../upstream/legacy-sse.js')).createLegacySseUpstream({ ...options, maxMessageSize: command.maxMessageBytes }),
      stateless: async (options) => {
        const [{ createStatelessUpstream }, { restartWindowFetch }] = await Promise.all([
          import('../upstream/stateless.js'),
          import('../upstream/restart-window-fetch.js'),
        ]);
        return createStatelessUpstream({
          ...options,
          fetch: restartWindowFetch(options, command.restartWindowMs),
          maxMessageSize: command.maxMessageBytes,
        });
      },
    },
  });
}
