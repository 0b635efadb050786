// 2026-07-28 transports/streamable-http §Value Encoding: a value that is not a safe plain-ASCII
// field value travels as `=?base64?{UTF-8 in Base64}?=`.
const PREFIX = '=?base64?';
const SUFFIX = '?=';

/** `value` as an HTTP field value: as is when safe, else in the Base64 sentinel form. */
export function encodeHeaderValue(value: string): string {
  return needsBase64(value) ? `${PREFIX}${utf8ToBase64(value)}${SUFFIX}` : value;
}

/**
 * Unsafe: empty, leading or trailing whitespace (field parsing strips it), a character outside
 * visible ASCII, space and tab, or a value that already looks like the sentinel (ambiguity rule).
 */
function needsBase64(value: string): boolean {
  if (value === '' || value !== value.trim()) return true;
  if (value.startsWith(PREFIX) && value.endsWith(SUFFIX)) return true;
  return !/^[\t\x20-\x7e]*$/.test(value);
}

function utf8ToBase64(value: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(value)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
