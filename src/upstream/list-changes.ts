import type { UpstreamSink } from './upstream.js';

const LISTS = ['tools', 'prompts', 'resources'] as const;

/**
 * After a new session replaced a lost one the server may have been redeployed with other tools,
 * prompts or resources: for each list the server says can change, the host is told to fetch it
 * again (the notifications a 2025 server sends when a list changes).
 */
export function announceListChanges(sink: UpstreamSink, capabilities: unknown): void {
  const offered = (capabilities ?? {}) as Record<string, { listChanged?: unknown } | undefined>;
  for (const list of LISTS) {
    if (offered[list]?.listChanged === true) sink.message({ jsonrpc: '2.0', method: `notifications/${list}/list_changed` });
  }
}
