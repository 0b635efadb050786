import type { JsonRpcMessage } from '../shared/json-rpc.js';
import { META } from './modern-request.js';

// Result fields a 2025 host does not know: the result kind and the cache hints (2026-07-28 §ResultType, §Caching).
const MODERN_RESULT_FIELDS = ['resultType', 'ttlMs', 'cacheScope'];
const MODERN_META_KEYS: readonly string[] = [META.serverInfo, META.subscriptionId];

/** A modern result as a 2025 host expects it: no `resultType`, cache hints or per-result server identity. */
export function toLegacyResult(result: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(result as Record<string, unknown>) };
  for (const field of MODERN_RESULT_FIELDS) delete copy[field];
  return withoutModernMeta(copy);
}

/** A notification from a modern server without its subscription id. */
export function toLegacyNotification(message: JsonRpcMessage): JsonRpcMessage {
  if (message.params === undefined || !('_meta' in message.params)) return message;
  const { params: _params, ...rest } = message;
  const params = withoutModernMeta({ ...message.params });
  return Object.keys(params).length === 0 ? rest : { ...rest, params };
}

function withoutModernMeta(record: Record<string, unknown>): Record<string, unknown> {
  const meta = record['_meta'];
  if (typeof meta !== 'object' || meta === null) return record;
  const kept = Object.fromEntries(Object.entries(meta).filter(([key]) => !MODERN_META_KEYS.includes(key)));
  if (Object.keys(kept).length === 0) delete record['_meta'];
  else record['_meta'] = kept;
  return record;
}
