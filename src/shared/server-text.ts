import { readTextPrefix } from './read-prefix.js';

/** Control characters (terminal escapes, newlines) and the invisible marks that reorder text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/**
 * Text a server sent (an `error_description`, a body quoted in an error), fit for a message that
 * reaches a terminal, a log line or the store: on one line, without control characters, at most
 * `max` characters. A hostile server's text cannot move the cursor, recolour or forge log lines.
 */
export function serverText(text: string, max: number): string {
  const clean = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A short, single-line excerpt of a body for an error message: tags and whitespace folded. */
export function excerpt(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '' || text === 'null') return '';
  return ` "${text.length > 160 ? `${text.slice(0, 160)}…` : text}"`;
}

/**
 * The start of an error answer's body for a message: ` "Session not found"`, or '' for an empty
 * body. Reads at most about 512 bytes and releases the rest; markup and whitespace are collapsed.
 */
export async function responseExcerpt(response: Response): Promise<string> {
  return excerpt(await readTextPrefix(response, EXCERPT_BYTES));
}

const EXCERPT_BYTES = 512;
