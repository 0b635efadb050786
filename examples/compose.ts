// Composing with the SDK's own middlewares. applyMiddlewares makes the last middleware the
// outermost; put withSessionRecovery outside withOAuth so the re-initialization it sends carries
// a fresh token too.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { applyMiddlewares, withLogging } from '@modelcontextprotocol/sdk/client/middleware.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { withSessionRecovery } from 'mcp-lifeline';

export async function connectComposed(url: string, log: (line: string) => void): Promise<Client> {
  const composed = applyMiddlewares(
    withLogging({ logger: ({ method, status, duration }) => log(`${method} ${status} ${duration}ms`) }),
    withSessionRecovery({ onEvent: (event) => log(`lifeline: ${event.type}`) }),
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: composed(fetch) });
  const client = new Client({ name: 'my-app', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
