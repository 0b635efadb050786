import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import type { ServerRecord } from './oauth-store.js';
import { revokeToken } from './revoke-token.js';
import { signInErrorText } from './sign-in-error-text.js';

/** What revoking a record's tokens achieved. */
export interface Revocations {
  /** Tokens revoked at the authorization server (RFC 7009), e.g. `refresh token`. */
  readonly revoked: string[];
  /** Why a token was not revoked. */
  readonly notRevoked: string[];
}

/**
 * Revokes every token of `record` at its authorization server's revocation endpoint (RFC 7009),
 * refresh token first, through the sign-in fetch (an insecure endpoint is refused, not sent to).
 * Never throws: what could not be revoked is said in `notRevoked`.
 */
export async function revokeRecord(
  record: ServerRecord,
  options: { readonly staticClient: OAuthClientInformationMixed | undefined; readonly fetch: FetchLike },
): Promise<Revocations> {
  const revoked: string[] = [];
  const notRevoked: string[] = [];
  const metadata = record.discovery?.authorizationServerMetadata as { revocation_endpoint?: string } | undefined;
  for (const grant of Object.values(record.grants)) {
    const client = options.staticClient ?? grant.client;
    const tokens = grant.tokens;
    if (tokens === undefined) continue;
    const endpoint = grant.issuer === record.discovery?.authorizationServerUrl ? metadata?.revocation_endpoint : undefined;
    const kinds = [
      ['refresh token', tokens.refresh_token, 'refresh_token'],
      ['access token', tokens.access_token, 'access_token'],
    ] as const;
    for (const [label, token, hint] of kinds) {
      if (token === undefined) continue;
      if (endpoint === undefined || client === undefined) {
        notRevoked.push(`${label}: ${grant.issuer} has no revocation endpoint (RFC 7009); deleted here only`);
        continue;
      }
      try {
        await revokeToken({ endpoint, token, hint, client, fetch: options.fetch });
        revoked.push(label);
      } catch (error) {
        notRevoked.push(`${label}: ${signInErrorText(error)}`);
      }
    }
  }
  return { revoked, notRevoked };
}
