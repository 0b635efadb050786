import { LifelineError } from '../errors/LifelineError.js';
/** A mistake in the command line or its inputs: the CLI prints the message and exits with 2. */
export class UsageError extends LifelineError<'USAGE'> {
  override name = 'UsageError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}
