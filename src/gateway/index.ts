// `mcp-lifeline/gateway`: the `serve` gateway as a library (Node only). Re-exports only.

export type { GatewayErrorCode } from '../errors/error-codes.js';
export { MissingPackageError } from '../errors/MissingPackageError.js';
export { type CallerCredentials, LOCAL_CALLER, parseCallerTokens } from './caller-credentials.js';
export { GatewayConfigError } from './GatewayConfigError.js';
export { type Gateway, startGateway } from './gateway.js';
export { type CredentialUpdate, GATEWAY_TOKEN_HEADER } from './gateway-credentials.js';
export type { GatewayMetrics, RefusalReason } from './gateway-metrics.js';
export {
  DEFAULT_GATEWAY_OPTIONS,
  type GatewayLimits,
  type GatewayLog,
  type GatewayOptions,
  type GatewayUpstream,
} from './gateway-options.js';
export { createMemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { createRedisStore, DEFAULT_REDIS_PREFIX, type RedisStoreOptions } from './redis-store.js';
export type { SessionStore, StoredSession, StoredSessionChange, StoreLock, StoreWatcher } from './session-store.js';
export { parseSessionKeys } from './session-token.js';
