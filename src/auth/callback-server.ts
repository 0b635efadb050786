import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverText } from '../shared/server-text.js';
import { checkResponseIssuer } from './issuer-checks.js';
import { SignInError } from './SignInError.js';

/** What the loopback callback received, after its checks. */
interface AuthorizationCallback {
  readonly code: string;
  readonly iss: string | undefined;
}

/** What the callback must match. */
interface CallbackExpectation {
  /** The `state` this sign-in sent. */
  readonly state: string;
  /** The authorization server's issuer, for the RFC 9207 check. */
  readonly issuer: string | undefined;
  /** The server advertised `authorization_response_iss_parameter_supported`: `iss` is required. */
  readonly issRequired: boolean;
  /** How long to wait for the user, in ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Told about each request to the callback that was answered and ignored (not this sign-in's). */
  readonly onIgnored?: ((reason: string) => void) | undefined;
}

/** A loopback HTTP server waiting for one authorization response (RFC 8252 §7.3). */
export interface CallbackServer {
  /** `http://127.0.0.1:<port>/callback` */
  readonly redirectUrl: string;
  readonly port: number;
  /**
   * Resolves with the code once a callback with this sign-in's `state` passes the `iss` check;
   * rejects with a {@linkcode SignInError} when that callback carries an error or the wrong issuer,
   * at the timeout, or on abort. Any other request is answered 4xx and ignored.
   */
  waitForCode(expect: CallbackExpectation): Promise<AuthorizationCallback>;
  close(): Promise<void>;
}

export const CALLBACK_PATH = '/callback';

/**
 * Listens on 127.0.0.1 (never on other interfaces: RFC 8252 §8.3) at `port`, 0 for any free port.
 * Rejects with the listen error (`EADDRINUSE` when the port is taken).
 */
export async function startCallbackServer(options: { port?: number | undefined } = {}): Promise<CallbackServer> {
  let deliver: ((url: URL, response: ServerResponse) => void) | undefined;
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method !== 'GET' || url.pathname !== CALLBACK_PATH || deliver === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    deliver(url, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    redirectUrl: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    port,
    waitForCode(expect) {
      return new Promise<AuthorizationCallback>((resolve, reject) => {
        const timer = setTimeout(() => {
          finish();
          reject(
            new SignInError(
              'SIGN_IN_TIMEOUT',
              `sign-in not completed within ${Math.round(expect.timeoutMs / 1000)} s (no answer from the browser)`,
            ),
          );
        }, expect.timeoutMs);
        const onAbort = () => {
          finish();
          reject(expect.signal?.reason ?? new Error('aborted'));
        };
        expect.signal?.addEventListener('abort', onAbort, { once: true });
        const finish = () => {
          clearTimeout(timer);
          expect.signal?.removeEventListener('abort', onAbort);
          deliver = undefined;
        };
        deliver = (url, response) => {
          const verdict = judgeCallback(url.searchParams, expect);
          if (verdict.kind === 'ignore') {
            // Anyone on this machine (or a web page) can reach the callback: what this sign-in
            // did not start must not end it. Answered, and the wait goes on.
            page(response, 400, 'Not this sign-in', `${verdict.reason}. This request was ignored; the sign-in goes on.`);
            expect.onIgnored?.(verdict.reason);
            return;
          }
          finish();
          if (verdict.kind === 'refuse') {
            page(response, 400, 'Sign-in refused', verdict.error.message);
            reject(verdict.error);
            return;
          }
          page(response, 200, 'Signed in', 'You are signed in. You can close this tab.');
          resolve(verdict.callback);
        };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

type Verdict =
  | { readonly kind: 'accept'; readonly callback: AuthorizationCallback }
  /** This sign-in's answer, and it says no (an error, or an issuer mismatch): the sign-in ends. */
  | { readonly kind: 'refuse'; readonly error: SignInError }
  /** Not this sign-in's answer (another `state`, no code nor error): answered and ignored. */
  | { readonly kind: 'ignore'; readonly reason: string };

function judgeCallback(params: URLSearchParams, expect: CallbackExpectation): Verdict {
  const state = params.get('state') ?? '';
  // RFC 6749 §10.12: a callback this sign-in did not start (forged, or from an older attempt).
  if (!equalSecrets(state, expect.state)) {
    return {
      kind: 'ignore',
      reason: 'The authorization response carries a "state" this sign-in did not send (a forged or stale callback)',
    };
  }
  try {
    checkResponseIssuer({ iss: params.get('iss') ?? undefined, expected: expect.issuer, required: expect.issRequired });
  } catch (error) {
    return { kind: 'refuse', error: error as SignInError };
  }
  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description');
    const said = `${serverText(error, 100)}${description ? ` (${serverText(description, 200)})` : ''}`;
    return { kind: 'refuse', error: new SignInError('AUTHORIZATION_DENIED', `the authorization server refused the sign-in: ${said}`) };
  }
  const code = params.get('code');
  if (code === null || code === '') return { kind: 'ignore', reason: 'The authorization response has neither a code nor an error' };
  return { kind: 'accept', callback: { code, iss: params.get('iss') ?? undefined } };
}

function equalSecrets(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function page(response: ServerResponse, status: number, title: string, text: string): void {
  const html = (value: string) => value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  response.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>mcp-lifeline: ${html(title)}</title></head>` +
      `<body style="font-family:sans-serif;margin:3em"><h1>${html(title)}</h1><p>${html(text)}</p></body></html>\n`,
  );
}
