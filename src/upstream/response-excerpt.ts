import { excerpt } from './http-error-text.js';
import { readBoundedBody } from './read-bounded-body.js';

const EXCERPT_BYTES = 512;

/**
 * The start of an error answer's body for a message: ` "Session not found"`, or '' for an empty
 * body. Reads at most about 512 bytes and releases the rest; markup and whitespace are collapsed.
 */
export async function responseExcerpt(response: Response): Promise<string> {
  return excerpt(await readBoundedBody(response, EXCERPT_BYTES));
}
