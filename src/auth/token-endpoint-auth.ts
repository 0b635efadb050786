import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import { serverText } from '../shared/server-text.js';

/**
 * Client authentication for requests the SDK does not make itself (device authorization,
 * revocation): HTTP Basic with a secret (RFC 6749 §2.3.1, the default every server must accept),
 * else the public client's `client_id` in the body.
 */
export function authenticateClient(client: OAuthClientInformationMixed, headers: Headers, body: URLSearchParams): void {
  if (client.client_secret !== undefined) {
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    headers.set('authorization', `Basic ${btoa(`${encode(client.client_id)}:${encode(client.client_secret)}`)}`);
  } else {
    body.set('client_id', client.client_id);
  }
}

/** `error` and `error_description` of an OAuth error answer, as one phrase. */
export async function oauthErrorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') {
      const description = typeof body.error_description === 'string' ? serverText(body.error_description, 200) : '';
      return `${serverText(body.error, 100)}${description ? ` (${description})` : ''}`;
    }
  } catch {
    // Not JSON: fall through to the status.
  }
  return `HTTP ${response.status}`;
}
