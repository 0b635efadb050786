import type { AuthorizationServerMetadata, OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { OAuthTokensSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { sleep } from '../shared/timers.js';
import { SignInError } from './SignInError.js';
import { checkSignInUrl } from './sign-in-url.js';
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
  /** The sign-in fetch: bounds each request and answer, and refuses insecure URLs. */
  readonly fetch: FetchLike;
  /** Bound for the whole sign-in, in ms (the code's own lifetime may be shorter). */
  readonly timeoutMs: number;
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
  // §3.5: 5 s unless the server says; kept within 1 to 60 s, so a hostile answer can neither make
  // this poll in a tight loop nor overflow a timer (which Node then fires after 1 ms).
  let intervalMs = Math.min(Math.max(numberField(grant, 'interval', 5), MIN_INTERVAL_S), MAX_INTERVAL_S) * 1000;
  const complete = grant['verification_uri_complete'];
  await request.prompt({
    userCode: userCodeOf(grant),
    // Shown to the user, or opened: https: (or http: on loopback) only, as every sign-in URL.
    verificationUri: checkSignInUrl('verification_uri', stringField(grant, 'verification_uri')).href,
    verificationUriComplete: typeof complete === 'string' ? checkSignInUrl('verification_uri_complete', complete).href : undefined,
    expiresAt,
  });

  for (;;) {
    // Never past the deadline, however long the interval.
    await sleep(Math.min(intervalMs, Math.max(0, expiresAt - Date.now())), { onAbort: 'resolve' });
    if (Date.now() >= expiresAt) {
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
      intervalMs = Math.min(intervalMs + 5000, MAX_INTERVAL_S * 1000);
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
  return request.fetch(url, { method: 'POST', headers, body });
}

const MIN_INTERVAL_S = 1;
const MAX_INTERVAL_S = 60;

/** The code the user types: short and printable, so it can be shown on a terminal as it is. */
function userCodeOf(body: Record<string, unknown>): string {
  const code = stringField(body, 'user_code');
  if (code.length > 64 || !/^[\x21-\x7e]+$/.test(code)) {
    throw new SignInError(
      'SIGN_IN_FAILED',
      'the device authorization answer has a "user_code" that is not a short printable code; refusing it',
    );
  }
  return code;
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
