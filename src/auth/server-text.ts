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
