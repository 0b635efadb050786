import { readBoundedBody } from './read-bounded-body.js';

const EXCERPT_BYTES = 512;

/**
 * The start of an error answer's body for a message: ` "Session not found"`, or '' for an empty
 * body. Reads at most about 512 bytes and releases the rest; markup and whitespace are collapsed.
 */
export async function responseExcerpt(response: Response): Promise<string> {
  return quoteExcerpt(await readBoundedBody(response, EXCERPT_BYTES));
}

/** ` "text"` shortened to one line of 160 characters, or '' when there is nothing to quote. */
export function quoteExcerpt(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '' || text === 'null') return '';
  return ` "${text.length > 160 ? `${text.slice(0, 160)}…` : text}"`;
}
