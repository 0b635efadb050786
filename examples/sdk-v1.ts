// The official v1 SDK client (@modelcontextprotocol/sdk) with session recovery.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type LifelineEvent, withSessionRecovery } from 'mcp-lifeline';

export async function connectV1(url: string, onEvent?: (event: LifelineEvent) => void): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: withSessionRecovery({ onEvent })(fetch),
  });
  const client = new Client({ name: 'my-app', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
