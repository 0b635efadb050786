import { LifelineError } from '../errors/LifelineError.js';

/** `startGateway` cannot serve this configuration safely; the message names the fix. The CLI prints it and exits 2. */
export class GatewayConfigError extends LifelineError<'INVALID_GATEWAY_CONFIG'> {
  override name = 'GatewayConfigError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_GATEWAY_CONFIG', message, options);
  }
}
