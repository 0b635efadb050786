import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { authenticateClient, oauthErrorText } from './token-endpoint-auth.js';

/** One RFC 7009 revocation request. */
export interface RevocationRequest {
  readonly endpoint: string;
  readonly token: string;
  readonly hint: 'access_token' | 'refresh_token';
  readonly client: OAuthClientInformationMixed;
  /** The sign-in fetch: bounds the request and its answer, refuses insecure URLs. */
  readonly fetch: FetchLike;
}

/**
 * Revokes a token (RFC 7009 §2.1). A 200 means revoked, or already invalid (§2.2). Throws an
 * Error naming what the server said otherwise.
 */
export async function revokeToken(request: RevocationRequest): Promise<void> {
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
  const body = new URLSearchParams({ token: request.token, token_type_hint: request.hint });
  authenticateClient(request.client, headers, body);
  const response = await request.fetch(request.endpoint, { method: 'POST', headers, body });
  if (response.ok) {
    await response.body?.cancel();
    return;
  }
  throw new Error(`revocation of the ${request.hint.replace('_', ' ')} refused: ${await oauthErrorText(response)}`);
}
