import type { Writable } from 'node:stream';
import type { Challenge } from '../auth/challenge.js';
import { createOAuthSession } from '../auth/oauth-session.js';
import { createOAuthStore, type ServerRecord } from '../auth/oauth-store.js';
import { isSignInError } from '../auth/SignInError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import type { AuthCommand } from './auth-args.js';
import { EXIT } from './exit-codes.js';
import type { LogFields } from './logger.js';
import { createCliSession, type SignInLog, storeRepairedText } from './oauth-fetch.js';
import { fetchSignInChallenge } from './sign-in-challenge.js';

/** What `login`, `status` and `logout` write to and read from. */
export interface AuthCommandIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs `login`, `status` or `logout`; resolves to the exit code. */
export async function runAuthCommand(command: AuthCommand, io: AuthCommandIO): Promise<number> {
  try {
    return await run(command, io);
  } catch (error) {
    // A store that may not be used (STORE_INSECURE), say: the message says how to fix it.
    if (!isSignInError(error)) throw error;
    io.stderr.write(`mcp-lifeline ${command.kind}: ${error.message}\n`);
    return EXIT.usage;
  }
}

async function run(command: AuthCommand, io: AuthCommandIO): Promise<number> {
  const store = createOAuthStore(undefined, {
    onRepair: ({ directory, mode }) => io.stderr.write(`${storeRepairedText(directory, mode)}\n`),
  });
  switch (command.kind) {
    case 'login':
      return login(command, io);
    case 'status': {
      const records =
        command.url === undefined ? await store.list() : [(await store.read(command.url))?.record].filter((record) => record !== undefined);
      const entries = records.flatMap(describeRecord);
      io.stdout.write(command.json ? `${JSON.stringify(entries, null, 2)}\n` : renderStatus(entries, store.directory));
      return command.url !== undefined && entries.length === 0 ? EXIT.problem : EXIT.ok;
    }
    case 'logout': {
      const urls = command.url !== undefined ? [command.url.href] : (await store.list()).map((record) => record.serverUrl);
      const results = [];
      for (const url of urls) {
        const result = await createOAuthSession({ serverUrl: url, store }).signOut();
        results.push({ url, ...result });
        if (!command.json) {
          const said = result.removed
            ? `signed out of ${url}${result.revoked.length > 0 ? `: revoked the ${result.revoked.join(' and the ')}` : ''}`
            : `nothing stored for ${url}`;
          io.stderr.write(`${said}\n${result.notRevoked.map((reason) => `  not revoked: ${reason}\n`).join('')}`);
        }
      }
      if (command.json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return EXIT.ok;
    }
  }
}

async function login(command: Extract<AuthCommand, { kind: 'login' }>, io: AuthCommandIO): Promise<number> {
  const where = command.url.origin + command.url.pathname;
  const say = (line: string) => io.stderr.write(`${line}\n`);
  for (const warning of command.headerWarnings) say(`mcp-lifeline login: warning: ${warning}`);
  let challenge: Challenge | undefined;
  let status: number;
  try {
    ({ challenge, status } = await fetchSignInChallenge(command.url, command.headers, 10_000));
  } catch (error) {
    say(`mcp-lifeline login: cannot reach ${where}: ${networkErrorText(error, 10_000)}`);
    return EXIT.usage;
  }
  if (challenge === undefined) {
    say(`${where} does not ask for a sign-in: it answered HTTP ${status} without credentials`);
    return EXIT.ok;
  }
  const session = createCliSession(command.url, command.oauth, { log: plainLog(say), env: io.env });
  try {
    const result = await session.signIn({ force: command.force, challenge });
    const until = result.expiresAt === undefined ? '' : `, token valid until ${new Date(result.expiresAt).toISOString()}`;
    const what = { 'signed-in': 'signed in to', refreshed: 'already signed in (token refreshed) to', valid: 'already signed in to' }[
      result.outcome
    ];
    say(`${what} ${where}${result.scope ? ` (scope ${result.scope})` : ''}${until}`);
    if (command.json) io.stdout.write(`${JSON.stringify({ url: session.serverUrl, ...result }, null, 2)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!isSignInError(error)) throw error;
    say(`mcp-lifeline login: ${error.message}`);
    return EXIT.usage;
  }
}

/** One stored sign-in, as `status` shows it: never a token. */
interface StatusEntry {
  readonly serverUrl: string;
  readonly issuer: string;
  readonly resource: string;
  readonly clientId: string | undefined;
  readonly scope: string | undefined;
  readonly signedIn: boolean;
  readonly expiresAt: string | undefined;
  readonly refreshToken: boolean;
  readonly lastSignIn: { readonly at: string; readonly ok: boolean; readonly message: string | undefined } | undefined;
}

function describeRecord(record: ServerRecord): StatusEntry[] {
  const last = record.lastSignIn;
  return Object.values(record.grants).map((grant) => ({
    serverUrl: record.serverUrl,
    issuer: grant.issuer,
    resource: grant.resource,
    clientId: grant.client?.client_id,
    scope: grant.scope ?? grant.tokens?.scope,
    signedIn: grant.tokens !== undefined,
    expiresAt: grant.tokens?.expires_at === undefined ? undefined : new Date(grant.tokens.expires_at).toISOString(),
    refreshToken: grant.tokens?.refresh_token !== undefined,
    lastSignIn: last === undefined ? undefined : { at: new Date(last.at).toISOString(), ok: last.ok, message: last.message },
  }));
}

function renderStatus(entries: readonly StatusEntry[], directory: string): string {
  if (entries.length === 0) return `no sign-ins stored (in ${directory})\n`;
  const lines = entries.map((entry) => {
    const expiry = entry.expiresAt === undefined ? '' : ` until ${entry.expiresAt}`;
    const state = entry.signedIn ? `signed in${expiry}${entry.refreshToken ? ', refreshable' : ''}` : 'not signed in';
    const last =
      entry.lastSignIn && !entry.lastSignIn.ok ? `\n  last sign-in failed at ${entry.lastSignIn.at}: ${entry.lastSignIn.message}` : '';
    return `${entry.serverUrl}\n  ${state}\n  issuer ${entry.issuer}, client ${entry.clientId ?? '(none)'}${entry.scope ? `, scope ${entry.scope}` : ''}${last}`;
  });
  return `${lines.join('\n')}\n(stored in ${directory})\n`;
}

function plainLog(say: (line: string) => void): SignInLog {
  const line = (message: string, fields?: LogFields) => {
    const extra = Object.entries(fields ?? {})
      .filter(([key, value]) => value !== undefined && key !== 'server')
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    say(extra ? `${message} (${extra})` : message);
  };
  return { error: line, warn: line, info: line, debug: () => {} };
}
