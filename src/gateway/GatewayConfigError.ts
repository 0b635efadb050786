import { LifelineError } from '../errors/LifelineError.js';

/** `startGateway` cannot serve this configuration safely; the message names the fix. The CLI prints it and exits 2. */
export class GatewayConfigError extends LifelineError<'INVALID_GATEWAY_CONFIG'> {
  override name = 'GatewayConfigError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_GATEWAY_CONFIG', message, options);
  }
}

/**
 * The refusal of a store shared by replicas without session keys they share: each replica would
 * seal session ids with its own random key, and no other could open them. Checked by
 * `startGateway`, and by the CLI before it connects to the store.
 */
export function sharedStoreWithoutKeys(kind: string): GatewayConfigError {
  return new GatewayConfigError(
    `a ${kind} store is shared by replicas, which must share the session keys too: give --key-file (one key a line, e.g. from "openssl rand -base64 32")`,
  );
}
