import { readTextPrefix } from '../shared/read-prefix.js';
import { excerpt } from './http-error-text.js';

const EXCERPT_BYTES = 512;

/**
 * The start of an error answer's body for a message: ` "Session not found"`, or '' for an empty
 * body. Reads at most about 512 bytes and releases the rest; markup and whitespace are collapsed.
 */
export async function responseExcerpt(response: Response): Promise<string> {
  return excerpt(await readTextPrefix(response, EXCERPT_BYTES));
}
