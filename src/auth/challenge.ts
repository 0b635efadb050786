import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

/** What a server's `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, RFC 9728 §5.1) asks for. */
export interface Challenge {
  /** Where the server's protected-resource metadata is (RFC 9728). */
  readonly resourceMetadataUrl?: URL | undefined;
  /** The scope the server needs; a step-up asks for it on top of what was granted. */
  readonly scope?: string | undefined;
  /** `invalid_token`, `insufficient_scope`, … */
  readonly error?: string | undefined;
  readonly errorDescription?: string | undefined;
}

/** The challenge in a 401 or 403 answer (empty when there is none, or it is not Bearer). */
export function readChallenge(response: Response): Challenge {
  const { resourceMetadataUrl, scope, error } = extractWWWAuthenticateParams(response);
  const header = response.headers.get('www-authenticate') ?? '';
  const description = /error_description="([^"]*)"/.exec(header)?.[1];
  return { resourceMetadataUrl, scope, error, errorDescription: description };
}

/** A 403 whose challenge says the token lacks scope (RFC 6750 §3.1): a step-up may fix it. */
export function isInsufficientScope(response: Response): boolean {
  return response.status === 403 && /(^|[\s,])error="?insufficient_scope"?/i.test(response.headers.get('www-authenticate') ?? '');
}

/** Whether the answer challenges for a Bearer token (RFC 6750 §3): the server speaks OAuth. */
export function isBearerChallenge(response: Response): boolean {
  return /^\s*bearer\b/i.test(response.headers.get('www-authenticate') ?? '');
}
