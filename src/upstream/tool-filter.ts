// Tool filters: which of a server's tools a host may see and call (the bridge's --ignore-tool and
// --allow-tool, serve's ignoreTools and allowTools per upstream). A convenience that keeps a tool
// out of a model's reach, not a sandbox: a server may run anything on its own account, and a
// client that reaches the server without mcp-lifeline is not filtered at all.
import type { JsonRpcMessage } from '../shared/json-rpc.js';

/** The patterns of a tool filter, as the user gave them. */
export interface ToolFilterOptions {
  /**
   * Hide every tool whose name matches one of these. A pattern is the whole name, `*` standing for
   * any run of characters (none included); letters match in either case, as mcp-remote's
   * `--ignore-tool` does. Hiding wins over `allow`. @default []
   */
  readonly ignore?: readonly string[] | undefined;
  /** When not empty, hide every tool whose name matches none of these (same pattern rules). @default [] */
  readonly allow?: readonly string[] | undefined;
  /**
   * How messages name the two lists: the flags (`--ignore-tool`, `--allow-tool`) or the config keys.
   * @default { ignore: 'ignoreTools', allow: 'allowTools' }
   */
  readonly labels?: { readonly ignore: string; readonly allow: string } | undefined;
}

/** A host message the filter keeps from the server. */
interface ToolRefusal {
  /** The error that answers it; undefined for a notification, which gets no answer. */
  readonly answer: JsonRpcMessage | undefined;
}

/** A tool filter, built once per bridge or gateway upstream. */
export interface ToolFilter {
  /** Why the tool `name` is hidden, naming the filter that hides it; undefined when it is shown. */
  hides(name: string): string | undefined;
  /** A `tools/call` of a hidden tool: kept from the server, answered with an error; undefined for any other message. */
  refusal(message: JsonRpcMessage): ToolRefusal | undefined;
  /** The answer with the hidden tools left out of its `result.tools` (every page of `tools/list`); the same object when none is hidden. */
  filterAnswer(message: JsonRpcMessage): JsonRpcMessage;
  /** {@linkcode filterAnswer} on serialized JSON-RPC (one message or a batch); the same string when nothing changed or it is not JSON. */
  filterAnswerText(text: string): string;
  /** The filter in one line, for the startup log. */
  readonly description: string;
}

/**
 * JSON-RPC "Invalid params": what MCP servers answer for a tool they do not have (MCP
 * server/tools, "Error Handling": unknown tools). To the host, a hidden tool is one the server lacks.
 */
export const HIDDEN_TOOL_ERROR = -32602;

const DEFAULT_LABELS = { ignore: 'ignoreTools', allow: 'allowTools' } as const;

/** The filter for `options`; undefined when it has no pattern (nothing to filter). Throws a TypeError for an empty pattern. */
export function createToolFilter(options: ToolFilterOptions): ToolFilter | undefined {
  const ignore = [...(options.ignore ?? [])];
  const allow = [...(options.allow ?? [])];
  if (ignore.length === 0 && allow.length === 0) return undefined;
  const labels = options.labels ?? DEFAULT_LABELS;
  for (const [pattern, label] of [...ignore.map((p) => [p, labels.ignore]), ...allow.map((p) => [p, labels.allow])] as const) {
    if (typeof pattern !== 'string' || pattern.trim() === '')
      throw new TypeError(`${label}: a pattern must be a tool name, with * for any run of characters`);
  }
  const ignored = ignore.map((pattern) => ({ pattern, regex: toolPattern(pattern) }));
  const allowed = allow.map(toolPattern);
  const allowList = allow.map((pattern) => JSON.stringify(pattern)).join(', ');

  function hides(name: string): string | undefined {
    const hit = ignored.find(({ regex }) => regex.test(name));
    if (hit !== undefined) return `${labels.ignore} ${JSON.stringify(hit.pattern)}`;
    if (allowed.length > 0 && !allowed.some((regex) => regex.test(name))) return `${labels.allow} (it matches none of ${allowList})`;
    return undefined;
  }

  function filterAnswer(message: JsonRpcMessage): JsonRpcMessage {
    const result = message.result;
    if (message.method !== undefined || typeof result !== 'object' || result === null) return message;
    const tools = (result as { tools?: unknown }).tools;
    if (!Array.isArray(tools)) return message;
    const shown = tools.filter((tool) => {
      const name = (tool as { name?: unknown } | null)?.name;
      return typeof name !== 'string' || hides(name) === undefined;
    });
    return shown.length === tools.length ? message : { ...message, result: { ...result, tools: shown } };
  }

  return {
    hides,
    refusal(message) {
      if (message.method !== 'tools/call') return undefined;
      const name = message.params?.['name'];
      const filter = typeof name === 'string' ? hides(name) : undefined;
      if (filter === undefined) return undefined;
      if (message.id === undefined || message.id === null) return { answer: undefined };
      return {
        answer: {
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: HIDDEN_TOOL_ERROR,
            message: `mcp-lifeline: tool ${JSON.stringify(name)} is hidden by ${filter}; the call was not sent to the server`,
            data: { tool: name, filter },
          },
        },
      };
    },
    filterAnswer,
    filterAnswerText(text) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return text;
      }
      const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcMessage[];
      const filtered = messages.map((message) => (typeof message === 'object' && message !== null ? filterAnswer(message) : message));
      if (filtered.every((message, index) => message === messages[index])) return text;
      return JSON.stringify(Array.isArray(parsed) ? filtered : filtered[0]);
    },
    description: [
      ...(ignore.length > 0 ? [`hiding ${ignore.map((pattern) => JSON.stringify(pattern)).join(', ')} (${labels.ignore})`] : []),
      ...(allow.length > 0 ? [`showing only ${allowList} (${labels.allow})`] : []),
    ].join('; '),
  };
}

/**
 * A pattern as a whole-name match: `*` is any run of characters (none included, line breaks too),
 * everything else literal, letters in either case. The same rule as mcp-remote's `--ignore-tool`.
 */
function toolPattern(pattern: string): RegExp {
  const literal = pattern.split('*').map((part) => part.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'));
  return new RegExp(`^${literal.join('[\\s\\S]*')}$`, 'i');
}
