import { readPrefix } from '../recovery/read-prefix.js';

/** The first `limit` bytes (about) of a body as text; the rest is released unread. */
export async function readBoundedBody(response: Response, limit: number): Promise<string> {
  const prefix = await readPrefix(response, limit);
  await prefix.discard();
  return prefix.text;
}
