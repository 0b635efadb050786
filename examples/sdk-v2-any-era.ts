// The v2 SDK client speaking whichever era the server speaks: its own version negotiation picks
// 2026-07-28 or 2025, and withSessionRecovery keeps 2025 sessions alive (2026 traffic passes untouched).
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { withSessionRecovery } from 'mcp-lifeline';

export async function connectAnyEra(url: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: withSessionRecovery({ timeout: 5_000 })(fetch),
  });
  const client = new Client({ name: 'my-app', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(transport);
  return client;
}
