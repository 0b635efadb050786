import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '../../src/index.js';

/** What the tests need of an SDK client, whichever version. */
export interface TestClient {
  readonly sdk: 'v1' | 'v2';
  callTool(name: string, args?: Record<string, unknown>): Promise<{ content?: unknown; isError?: boolean }>;
  listTools(): Promise<{ tools: { name: string }[] }>;
  setLoggingLevel(level: 'debug' | 'info' | 'warning' | 'error'): Promise<unknown>;
  subscribeResource(uri: string): Promise<unknown>;
  unsubscribeResource(uri: string): Promise<unknown>;
  readonly sessionId: string | undefined;
  close(): Promise<void>;
}

export type Sdk = 'v1' | 'v2';
export const SDKS: readonly Sdk[] = ['v1', 'v2'];

/** Connects the official SDK client of version `sdk` to `url`, with `fetch` as its transport's fetch. */
export async function connectClient(sdk: Sdk, url: string, fetch: FetchLike = globalThis.fetch): Promise<TestClient> {
  if (sdk === 'v1') {
    const transport = new TransportV1(new URL(url), { fetch });
    const client = new ClientV1({ name: 'mcp-lifeline-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    await client.connect(transport);
    return {
      sdk,
      callTool: (name, args = {}) => client.callTool({ name, arguments: args }) as never,
      listTools: () => client.listTools(),
      setLoggingLevel: (level) => client.setLoggingLevel(level),
      subscribeResource: (uri) => client.subscribeResource({ uri }),
      unsubscribeResource: (uri) => client.unsubscribeResource({ uri }),
      get sessionId() {
        return transport.sessionId;
      },
      close: () => client.close(),
    };
  }
  const transport = new TransportV2(new URL(url), { fetch });
  const client = new ClientV2({ name: 'mcp-lifeline-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  await client.connect(transport);
  return {
    sdk,
    callTool: (name, args = {}) => client.callTool({ name, arguments: args }) as never,
    listTools: () => client.listTools(),
    setLoggingLevel: (level) => client.setLoggingLevel(level),
    subscribeResource: (uri) => client.subscribeResource({ uri }),
    unsubscribeResource: (uri) => client.unsubscribeResource({ uri }),
    get sessionId() {
      return transport.sessionId;
    },
    close: () => client.close(),
  };
}

/** The first text content of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: unknown }).content as { type: string; text?: string }[] | undefined;
  return content?.find((item) => item.type === 'text')?.text ?? '';
}
