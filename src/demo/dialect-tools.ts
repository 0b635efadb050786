// The MCP server behind each session of the dialect server: its tools (one of them not
// idempotent, counted, so tests can prove nothing ran twice), a resource, subscriptions, log level.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { sleep } from '../shared/timers.js';

const TOOLS = [
  {
    name: 'increment',
    description: 'Adds one to a server-side counter and returns it. Not idempotent: a replay would count twice.',
    inputSchema: { type: 'object', properties: { key: { type: 'string' } } },
  },
  {
    name: 'echo',
    description: 'Returns its text.',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
  {
    name: 'slow',
    description: 'Answers after ms milliseconds.',
    inputSchema: { type: 'object', properties: { ms: { type: 'number' } }, required: ['ms'] },
  },
  {
    name: 'payload',
    description: 'Returns a text of the given size in bytes.',
    inputSchema: { type: 'object', properties: { bytes: { type: 'number' } }, required: ['bytes'] },
  },
  {
    name: 'fail',
    description:
      'Runs (counted under key), then fails with its own error: a JSON-RPC error (code, message), an isError result ' +
      '(asResult), or an HTTP answer (status, with sse for an event stream) whose body is {"detail": message}.',
    inputSchema: {
      type: 'object',
      properties: {
        key: { type: 'string' },
        code: { type: 'number' },
        message: { type: 'string' },
        asResult: { type: 'boolean' },
        status: { type: 'number' },
        sse: { type: 'boolean' },
      },
      required: ['message'],
    },
  },
  {
    name: 'ask_client',
    description: 'Sends the client a sampling/createMessage request and returns its answer.',
    inputSchema: { type: 'object', properties: { prompt: { type: 'string' } } },
  },
];

const COUNTER_URI = 'lifeline://counter';

/** The state a session keeps, which a recovery must restore. */
export interface ToolSessionState {
  logLevel: string | undefined;
  readonly subscriptions: Set<string>;
}

/** What the tools count and change, on the dialect server. */
export interface ToolHost {
  /** Runs of `increment` and `fail` so far: the counter the tools return. */
  readonly executions: () => number;
  /** A tool call began. */
  called(): void;
  /** A non-idempotent tool ran, with its arguments (its `key` is counted). */
  execute(args: Record<string, unknown>): void;
  /** A tool call ended (answered or failed). */
  afterToolCall(): void;
}

/** An MCP server for one session (`session()` is undefined in stateless mode), built on the official SDK. */
export function createToolServer(host: ToolHost, session: () => ToolSessionState | undefined): Server {
  const server = new Server(
    { name: 'mcp-lifeline-dialect-server', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, logging: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    host.called();
    try {
      return await callTool(host, server, request.params.name, request.params.arguments ?? {}, extra.signal);
    } finally {
      host.afterToolCall();
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{ uri: COUNTER_URI, name: 'counter', mimeType: 'text/plain' }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => ({
    contents: [{ uri: request.params.uri, mimeType: 'text/plain', text: String(host.executions()) }],
  }));
  server.setRequestHandler(SubscribeRequestSchema, (request) => {
    session()?.subscriptions.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    session()?.subscriptions.delete(request.params.uri);
    return {};
  });
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    const current = session();
    if (current !== undefined) current.logLevel = request.params.level;
    return {};
  });
  return server;
}

async function callTool(host: ToolHost, server: Server, name: string, args: Record<string, unknown>, signal: AbortSignal) {
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  switch (name) {
    case 'increment':
      host.execute(args);
      return text(String(host.executions()));
    case 'fail':
      host.execute(args);
      if (args['asResult'] === true) return { isError: true, content: [{ type: 'text' as const, text: String(args['message']) }] };
      throw new McpError(Number(args['code'] ?? -32603), String(args['message']));
    case 'echo':
      return text(String(args['text'] ?? ''));
    case 'slow':
      await sleep(Number(args['ms'] ?? 0), { signal, onAbort: 'reject' });
      return text('done');
    case 'payload':
      return text('x'.repeat(Math.max(0, Number(args['bytes'] ?? 0))));
    case 'ask_client': {
      const answer = await server.createMessage({
        messages: [{ role: 'user', content: { type: 'text', text: String(args['prompt'] ?? 'hello') } }],
        maxTokens: 10,
      });
      return text(answer.content.type === 'text' ? answer.content.text : answer.content.type);
    }
    default:
      return { isError: true, content: [{ type: 'text' as const, text: `unknown tool ${name}` }] };
  }
}
