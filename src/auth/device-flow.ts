import type { AuthorizationServerMetadata, OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { OAuthTokensSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { SignInError } from './SignInError.js';
import { DEVICE_CODE_GRANT } from './store-provider.js';
import { authenticateClient, oauthErrorText } from './token-endpoint-auth.js';

// RFC 8628, the device authorization grant: for a machine without a browser, or whose loopback the
// user's browser cannot reach (ssh, containers). The SDK does not implement it; this is the whole
// protocol: one authorization request, then polling the token endpoint.

/** What the user must do: open `verificationUri` anywhere and enter `userCode`. */
export interface DevicePrompt {
  readonly userCode: string;
  readonly verificationUri: string;
  /** The same with the code filled in, when the server offers it. */
  readonly verificationUriComplete: string | undefined;
  /** When the code expires, in ms since the epoch. */
  readonly expiresAt: number;
}

/** One device sign-in. */
export interface DeviceFlowRequest {
  readonly metadata: AuthorizationServerMetadata;
  readonly client: OAuthClientInformationMixed;
  readonly scope: string | undefined;
  readonly resource: string | undefined;
  readonly fetch: FetchLike;
  /** Bound for the whole sign-in, in ms (the code's own lifetime may be shorter). */
  readonly timeoutMs: number;
  /** Bound for each request, in ms. */
  readonly requestTimeoutMs: number;
  prompt(prompt: DevicePrompt): Promise<void> | void;
}

/** Whether the authorization server offers the device flow. */
export function supportsDeviceFlow(metadata: AuthorizationServerMetadata | undefined): boolean {
  return typeof (metadata as Record<string, unknown> | undefined)?.['device_authorization_endpoint'] === 'string';
}

/** Runs the device flow to its end; resolves with the tokens, or throws a {@linkcode SignInError}. */
export async function runDeviceFlow(request: DeviceFlowRequest): Promise<OAuthTokens> {
  const endpoint = (request.metadata as Record<string, unknown>)['device_authorization_endpoint'] as string;
  const body = new URLSearchParams();
  if (request.scope) body.set('scope', request.scope);
  if (request.resource) body.set('resource', request.resource);
  const started = await post(request, endpoint, body);
  if (!started.ok) throw new SignInError('SIGN_IN_FAILED', `device authorization refused by ${endpoint}: ${await oauthErrorText(started)}`);
  const grant = (await started.json()) as Record<string, unknown>;
  const deviceCode = stringField(grant, 'device_code');
  const expiresAt = Date.now() + Math.min(numberField(grant, 'expires_in', 600) * 1000, request.timeoutMs);
  let intervalMs = numberField(grant, 'interval', 5) * 1000;
  await request.prompt({
    userCode: stringField(grant, 'user_code'),
    verificationUri: stringField(grant, 'verification_uri'),
    verificationUriComplete: typeof grant['verification_uri_complete'] === 'string' ? grant['verification_uri_complete'] : undefined,
    expiresAt,
  });

  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (Date.now() > expiresAt) {
      throw new SignInError('SIGN_IN_TIMEOUT', `device sign-in not completed within ${Math.round(request.timeoutMs / 1000)} s`);
    }
    const answer = await post(
      request,
      request.metadata.token_endpoint,
      new URLSearchParams({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode }),
    );
    if (answer.ok) return OAuthTokensSchema.parse(await answer.json());
    const text = await oauthErrorText(answer);
    // §3.5: keep polling while pending; slow down by 5 s when asked.
    if (text.startsWith('authorization_pending')) continue;
    if (text.startsWith('slow_down')) {
      intervalMs += 5000;
      continue;
    }
    if (text.startsWith('access_denied')) throw new SignInError('AUTHORIZATION_DENIED', `the device sign-in was refused: ${text}`);
    if (text.startsWith('expired_token'))
      throw new SignInError('SIGN_IN_TIMEOUT', 'the device code expired before the sign-in was completed');
    throw new SignInError('SIGN_IN_FAILED', `device sign-in failed at ${request.metadata.token_endpoint}: ${text}`);
  }
}

async function post(request: DeviceFlowRequest, url: string, body: URLSearchParams): Promise<Response> {
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
  if (request.resource && !body.has('resource')) body.set('resource', request.resource);
  authenticateClient(request.client, headers, body);
  return request.fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(request.requestTimeoutMs) });
}

function stringField(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw new SignInError('SIGN_IN_FAILED', `the device authorization answer has no "${name}"`);
  return value;
}

function numberField(body: Record<string, unknown>, name: string, fallback: number): number {
  const value = body[name];
  return typeof value === 'number' && value > 0 ? value : fallback;
}
