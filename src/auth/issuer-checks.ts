import type { AuthorizationServerMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { SignInError } from './SignInError.js';

// The SDK v1 `auth()` checks neither issuer; these fill that gap (the v2 SDK does both).

/** Two issuer identifiers name the same server: equal once parsed, one trailing slash aside. */
export function sameIssuer(a: string, b: string): boolean {
  const normal = (value: string) => {
    try {
      return new URL(value).href.replace(/\/$/, '');
    } catch {
      return value.replace(/\/$/, '');
    }
  };
  return normal(a) === normal(b);
}

/**
 * RFC 8414 §3.3 (and OpenID Connect Discovery §4.3): the metadata fetched for an authorization
 * server named in the resource metadata must name that server as its `issuer`, or another server
 * could pose as it (a mix-up). Without resource metadata (the 2025-03-26 fallback to the MCP
 * server's origin) no issuer was named in advance, and there is nothing to compare.
 */
export function checkMetadataIssuer(discovered: {
  readonly authorizationServerUrl: string;
  readonly authorizationServerMetadata?: AuthorizationServerMetadata | undefined;
  readonly resourceMetadata?: { readonly authorization_servers?: readonly string[] | undefined } | undefined;
}): void {
  const { authorizationServerUrl, authorizationServerMetadata: metadata } = discovered;
  if (!discovered.resourceMetadata?.authorization_servers?.includes(authorizationServerUrl)) return;
  if (metadata === undefined || sameIssuer(metadata.issuer, authorizationServerUrl)) return;
  throw new SignInError(
    'ISSUER_MISMATCH',
    `the authorization server metadata fetched for ${authorizationServerUrl} names another issuer, ${JSON.stringify(String(metadata.issuer).slice(0, 200))} ` +
      '(RFC 8414 §3.3); refusing to sign in there',
  );
}

/**
 * RFC 9207 §2.4: an authorization response that carries `iss` must carry the issuer the request
 * went to; one without it is refused when the server says it always sends it. Checked before the
 * response's code or error is used: on a mismatch both may come from an attacker.
 */
export function checkResponseIssuer(check: { iss: string | undefined; expected: string | undefined; required: boolean }): void {
  const { iss, expected, required } = check;
  if (iss === undefined) {
    if (required) {
      throw new SignInError(
        'ISSUER_MISMATCH',
        'the authorization response has no "iss" parameter, which the authorization server promises to send (RFC 9207); refusing it',
      );
    }
    return;
  }
  if (expected === undefined || iss !== expected) {
    throw new SignInError(
      'ISSUER_MISMATCH',
      `the authorization response comes from issuer ${JSON.stringify(iss.slice(0, 200))}, not ${JSON.stringify(expected ?? '(unknown)')} ` +
        'where the sign-in started (RFC 9207: a possible mix-up attack); refusing it',
    );
  }
}
