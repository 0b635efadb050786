/** A mistake in the command line or its inputs: the CLI prints the message and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
