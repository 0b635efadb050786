// The official v2 SDK client (@modelcontextprotocol/client) with session recovery.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { withSessionRecovery } from 'mcp-lifeline';

export async function connectV2(url: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: withSessionRecovery({ timeout: 5_000 })(fetch),
  });
  const client = new Client({ name: 'my-app', version: '1.0.0' });
  await client.connect(transport);
  return client;
}
