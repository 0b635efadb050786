import { discoverAuthorizationServerMetadata, discoverOAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import { supportsDeviceFlow } from '../../auth/device-flow.js';
import { sameIssuer } from '../../auth/issuer-checks.js';
import { isSignInError } from '../../auth/SignInError.js';
import { DEFAULT_OAUTH_SESSION_OPTIONS } from '../../auth/session-options.js';
import { createSignInFetch } from '../../auth/sign-in-fetch.js';
import { networkErrorText } from '../../errors/network-error-text.js';
import type { Paint } from '../paint.js';
import { fetchSignInChallenge } from '../sign-in-challenge.js';
import { hasStoredSignIn } from '../stored-sign-in.js';

/** How a server signs users in, as `probe` reports it (`signIn` in `--json`). */
export interface SignInReport {
  /** Whether the server refused an `initialize` without credentials (401 / 403). */
  readonly required: boolean;
  readonly status: number | null;
  /** The `WWW-Authenticate` challenge's parameters. */
  readonly challenge:
    | { readonly resourceMetadata: string | undefined; readonly scope: string | undefined; readonly error: string | undefined }
    | undefined;
  /** RFC 9728 protected-resource metadata. */
  readonly resourceMetadata:
    | {
        readonly resource: string;
        readonly authorizationServers: readonly string[];
        readonly scopesSupported: readonly string[] | undefined;
      }
    | undefined;
  /** RFC 8414 / OpenID metadata of the first authorization server. */
  readonly authorizationServer:
    | {
        readonly url: string;
        readonly issuer: string;
        /** RFC 8414 §3.3: the metadata names the server it was fetched from. */
        readonly issuerMatches: boolean;
        /** How a client can register: `dynamic` (RFC 7591), `client-id-metadata-document`; always `pre-registered`. */
        readonly registration: readonly string[];
        readonly deviceFlow: boolean;
        readonly pkceS256: boolean;
        /** RFC 9207 `iss` in authorization responses. */
        readonly issParameter: boolean;
        readonly revocation: boolean;
        readonly scopesSupported: readonly string[] | undefined;
      }
    | undefined;
  /** A sign-in for this server is stored here (`mcp-lifeline login`). */
  readonly signedIn: boolean;
  /** What could not be found out, in words. */
  readonly problems: readonly string[];
}

/** The probe could not start because the server wants credentials (or a sign-in we may not start). */
export function refusedCredentials(error: Error): boolean {
  const status = (error as { status?: unknown }).status;
  return status === 401 || status === 403 || isSignInError(error.cause);
}

/** Finds out how `url` signs users in, without signing in. */
export async function probeSignIn(options: { url: URL; headers: Record<string, string>; timeoutMs: number }): Promise<SignInReport> {
  const problems: string[] = [];
  const signedIn = await hasStoredSignIn(options.url);
  let answer: Awaited<ReturnType<typeof fetchSignInChallenge>>;
  try {
    answer = await fetchSignInChallenge(options.url, options.headers, options.timeoutMs);
  } catch (error) {
    return empty(null, signedIn, [`cannot reach the server: ${networkErrorText(error, options.timeoutMs)}`]);
  }
  if (answer.challenge === undefined) return empty(answer.status, signedIn, []);
  const { challenge } = answer;
  // The sign-in's own fetch: https only (http: on loopback), bounded in time and size.
  const bounded = createSignInFetch({
    fetch: (input, init) => fetch(input, init),
    serverUrl: options.url.href,
    requestTimeoutMs: options.timeoutMs,
    maxDocumentBytes: DEFAULT_OAUTH_SESSION_OPTIONS.maxDocumentBytes,
  });

  let resourceMetadata: SignInReport['resourceMetadata'];
  let asUrl = new URL('/', options.url).href;
  try {
    const found = await discoverOAuthProtectedResourceMetadata(
      options.url,
      challenge.resourceMetadataUrl ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {},
      bounded,
    );
    resourceMetadata = {
      resource: found.resource,
      authorizationServers: found.authorization_servers ?? [],
      scopesSupported: found.scopes_supported,
    };
    asUrl = found.authorization_servers?.[0] ?? asUrl;
  } catch (error) {
    problems.push(`no protected-resource metadata (RFC 9728): ${(error as Error).message}; trying ${asUrl} as the authorization server`);
  }

  let authorizationServer: SignInReport['authorizationServer'];
  try {
    const metadata = await discoverAuthorizationServerMetadata(asUrl, { fetchFn: bounded });
    if (metadata === undefined) throw new Error('no RFC 8414 or OpenID metadata found');
    const fields = metadata as Record<string, unknown>;
    authorizationServer = {
      url: asUrl,
      issuer: metadata.issuer,
      issuerMatches: sameIssuer(metadata.issuer, asUrl),
      registration: [
        ...(metadata.registration_endpoint ? ['dynamic'] : []),
        ...(metadata.client_id_metadata_document_supported ? ['client-id-metadata-document'] : []),
        'pre-registered',
      ],
      deviceFlow: supportsDeviceFlow(metadata),
      pkceS256: metadata.code_challenge_methods_supported?.includes('S256') ?? false,
      issParameter: fields['authorization_response_iss_parameter_supported'] === true,
      revocation: typeof fields['revocation_endpoint'] === 'string',
      scopesSupported: metadata.scopes_supported,
    };
  } catch (error) {
    problems.push(`authorization server ${asUrl}: ${(error as Error).message}`);
  }
  return {
    required: true,
    status: answer.status,
    challenge: { resourceMetadata: challenge.resourceMetadataUrl?.href, scope: challenge.scope, error: challenge.error },
    resourceMetadata,
    authorizationServer,
    signedIn,
    problems,
  };
}

function empty(status: number | null, signedIn: boolean, problems: string[]): SignInReport {
  return { required: false, status, challenge: undefined, resourceMetadata: undefined, authorizationServer: undefined, signedIn, problems };
}

/** The report's "Sign-in" section for the terminal. */
export function renderSignIn(report: SignInReport, paint: Paint, url: string): string {
  const lines = ['', paint.bold('Sign-in')];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(22)} ${value}`);
  if (!report.required) {
    row(
      'required',
      report.status === null ? 'unknown (server unreachable)' : `no: initialize without credentials answered HTTP ${report.status}`,
    );
  } else {
    const said = [report.challenge?.error, report.challenge?.scope && `scope "${report.challenge.scope}"`].filter(Boolean).join(', ');
    row('required', `yes: HTTP ${report.status}${said ? ` (${said})` : ''}`);
    const metadata = report.resourceMetadata;
    if (metadata !== undefined) {
      row('resource (RFC 9728)', `${metadata.resource}${metadata.scopesSupported ? `, scopes ${metadata.scopesSupported.join(' ')}` : ''}`);
    }
    const as = report.authorizationServer;
    if (as !== undefined) {
      row(
        'authorization server',
        `${as.issuer} ${as.issuerMatches ? '' : paint.red(`(fetched from ${as.url}: issuer mismatch, sign-in will be refused)`)}`.trim(),
      );
      row('registration', as.registration.join(', '));
      const flows = [
        `browser${as.pkceS256 ? ' (PKCE S256)' : paint.red(' (no S256 PKCE advertised)')}`,
        ...(as.deviceFlow ? ['device (--device)'] : []),
      ];
      row('sign-in flows', flows.join(', '));
      row('iss in responses', as.issParameter ? 'yes (RFC 9207)' : 'not advertised');
      row('revocation', as.revocation ? 'yes (logout revokes, RFC 7009)' : 'no (logout deletes the tokens here only)');
    }
  }
  for (const problem of report.problems) row('problem', paint.yellow(problem));
  row('signed in here', report.signedIn ? paint.green('yes') : report.required ? `no: run mcp-lifeline login ${url}` : 'no');
  return `${lines.join('\n')}\n`;
}
