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

/** The methods both SDK clients share, as the tests call them. */
interface SdkClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  listTools(): Promise<{ tools: { name: string }[] }>;
  setLoggingLevel(level: 'debug' | 'info' | 'warning' | 'error'): Promise<unknown>;
  subscribeResource(params: { uri: string }): Promise<unknown>;
  unsubscribeResource(params: { uri: string }): Promise<unknown>;
  close(): Promise<void>;
}

/** Connects the official SDK client of version `sdk` to `url`, with `fetch` as its transport's fetch. */
export async function connectClient(sdk: Sdk, url: string, fetch: FetchLike = globalThis.fetch): Promise<TestClient> {
  const info = { name: 'mcp-lifeline-test', version: '1.0.0' };
  const options = { capabilities: { sampling: {} } };
  const transport = sdk === 'v1' ? new TransportV1(new URL(url), { fetch }) : new TransportV2(new URL(url), { fetch });
  const client: SdkClient = sdk === 'v1' ? new ClientV1(info, options) : new ClientV2(info, options);
  await (client as unknown as { connect(transport: unknown): Promise<void> }).connect(transport);
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
