// The gateway inside your own Node process: one upstream, the memory store, logs to the console.
import { startGateway } from 'mcp-lifeline/gateway';

export async function serveInProcess(upstreamUrl: string, apiToken: string) {
  const gateway = await startGateway({
    port: 0, // any free port; hosts then use `${gateway.origin}/mcp`
    upstreams: [{ name: 'tools', url: new URL(upstreamUrl), headers: { authorization: `Bearer ${apiToken}` } }],
    log: { error: console.error, warn: console.warn, info: () => {}, debug: () => {} },
  });
  process.once('SIGTERM', () => void gateway.shutdown('SIGTERM'));
  return gateway;
}
