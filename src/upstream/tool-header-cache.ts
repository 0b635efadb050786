import { type HeaderDeclaration, scanHeaderDeclarations } from './mcp-param-headers.js';

/** A tool definition the spec says a client must leave out, and why. */
interface RejectedTool {
  readonly name: string;
  readonly reason: string;
}

/**
 * The `x-mcp-header` declarations of every tool seen in a `tools/list` answer, so that each
 * `tools/call` can carry its `Mcp-Param-*` headers.
 */
export interface ToolHeaderCache {
  /** Records a page of tools; returns the tools to show the host (invalid ones left out). */
  record(tools: readonly unknown[]): { readonly kept: unknown[]; readonly rejected: RejectedTool[] };
  /** The declarations of `tool`, or undefined when the tool was never listed (or the list is stale). */
  declarationsOf(tool: string): readonly HeaderDeclaration[] | undefined;
  /** The server said its tools changed: cached declarations may be out of date. */
  markStale(): void;
  readonly stale: boolean;
}

export function createToolHeaderCache(): ToolHeaderCache {
  const declarations = new Map<string, readonly HeaderDeclaration[]>();
  let stale = false;
  return {
    record(tools) {
      stale = false;
      const kept: unknown[] = [];
      const rejected: RejectedTool[] = [];
      for (const tool of tools) {
        const { name, inputSchema } = (tool ?? {}) as { name?: unknown; inputSchema?: unknown };
        if (typeof name !== 'string') continue;
        const scan = scanHeaderDeclarations(inputSchema);
        if (scan.valid) {
          declarations.set(name, scan.declarations);
          kept.push(tool);
        } else {
          declarations.delete(name);
          rejected.push({ name, reason: scan.reason });
        }
      }
      return { kept, rejected };
    },
    declarationsOf: (tool) => (stale ? undefined : declarations.get(tool)),
    markStale() {
      stale = true;
    },
    get stale() {
      return stale;
    },
  };
}
