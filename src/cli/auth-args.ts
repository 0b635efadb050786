import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { OAuthClientInformationMixed } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { SignInFlow } from '../auth/store-provider.js';
import { collectHeaders } from './headers.js';
import { NETWORK_OPTIONS, type NetworkSettings, networkSettingsOf } from './network-args.js';
import { OAUTH_OPTIONS } from './oauth-options.js';
import { checkPlainHttp } from './plain-http.js';
import { parseArgsMessage } from './suggest.js';
import { UsageError } from './usage-error.js';
import { parseCount, parsedOr, parseSeconds, parseUrl } from './values.js';

/** What the OAuth flags ask for; undefined (in `Command`) when OAuth is off. */
export interface OAuthFlags {
  readonly flow: SignInFlow;
  readonly openBrowser: boolean;
  readonly clientInformation: OAuthClientInformationMixed | undefined;
  readonly clientMetadata: Record<string, unknown> | undefined;
  readonly clientMetadataUrl: string | undefined;
  readonly scope: string | undefined;
  readonly callbackPort: number;
  readonly signInTimeoutMs: number;
}

type OAuthValues = { [K in keyof typeof OAUTH_OPTIONS]?: (typeof OAUTH_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/**
 * Reads the OAuth flags. Returns undefined when OAuth is off: `--no-oauth`, or an `Authorization`
 * header given with `--header` (static credentials win). Throws UsageError on bad values.
 */
export function parseOAuthFlags(values: OAuthValues, headers: Record<string, string>, env: NodeJS.ProcessEnv): OAuthFlags | undefined {
  if (values['no-oauth']) return undefined;
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return undefined;
  const clientCredentials = values['oauth-client-credentials'] ?? false;
  if (clientCredentials && values.device) throw new UsageError('--device and --oauth-client-credentials exclude each other');
  let clientInformation = values['oauth-client-info'] === undefined ? undefined : readClientInfo(values['oauth-client-info']);
  if (clientCredentials && clientInformation === undefined) {
    const id = env['MCP_LIFELINE_CLIENT_ID'];
    const secret = env['MCP_LIFELINE_CLIENT_SECRET'];
    if (!id || !secret) {
      throw new UsageError(
        '--oauth-client-credentials needs MCP_LIFELINE_CLIENT_ID and MCP_LIFELINE_CLIENT_SECRET, or --oauth-client-info FILE',
      );
    }
    clientInformation = { client_id: id, client_secret: secret };
  }
  if (clientCredentials && clientInformation?.client_secret === undefined) {
    throw new UsageError(
      '--oauth-client-credentials needs a client secret (client_secret in --oauth-client-info, or MCP_LIFELINE_CLIENT_SECRET)',
    );
  }
  const metadataUrl = values['oauth-client-metadata-url'];
  if (metadataUrl !== undefined && !/^https:\/\/[^/]+\/.+/.test(metadataUrl)) {
    throw new UsageError(`--oauth-client-metadata-url must be an https URL with a path, got "${metadataUrl}"`);
  }
  return {
    flow: clientCredentials ? 'client-credentials' : values.device ? 'device' : 'browser',
    openBrowser: !values['no-browser'],
    clientInformation,
    clientMetadata:
      values['oauth-client-metadata'] === undefined
        ? undefined
        : readJsonObject('--oauth-client-metadata', values['oauth-client-metadata']),
    clientMetadataUrl: metadataUrl,
    scope: values['oauth-scope'],
    callbackPort: parsedOr(values['oauth-callback-port'], 0, (text) =>
      parseCount('--oauth-callback-port', text, { min: 1, max: 65_535, what: 'a port number' }),
    ),
    signInTimeoutMs: parsedOr(values['oauth-timeout'], 300_000, (text) => parseSeconds('--oauth-timeout', text)),
  };
}

/** `login`, `status`, `logout`: the commands that manage stored sign-ins. */
export type AuthCommand =
  | {
      readonly kind: 'login';
      readonly url: URL;
      readonly oauth: OAuthFlags;
      /** Sent with the request that asks the server for its challenge (not to the authorization server). */
      readonly headers: Record<string, string>;
      readonly headerWarnings: readonly string[];
      readonly force: boolean;
      readonly json: boolean;
      readonly network: NetworkSettings;
    }
  | { readonly kind: 'status'; readonly url: URL | undefined; readonly json: boolean }
  | {
      readonly kind: 'logout';
      readonly url: URL | undefined;
      readonly all: boolean;
      readonly json: boolean;
      /** Token revocation reaches the authorization server: `--proxy`, `--ca-file`. */
      readonly network: NetworkSettings;
    };

const AUTH_COMMAND_NAMES = ['login', 'status', 'logout'] as const;

/** Whether `word` is `login`, `status` or `logout`. */
export function isAuthCommand(word: string): word is (typeof AUTH_COMMAND_NAMES)[number] {
  return (AUTH_COMMAND_NAMES as readonly string[]).includes(word);
}

/** Parses `login|status|logout …` (argv after the command word); `--help` asks for the command's usage. */
export function parseAuthCommand(
  kind: 'login' | 'status' | 'logout',
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): AuthCommand | { readonly kind: 'help'; readonly topic: 'login' | 'status' | 'logout' } {
  let parsed: ReturnType<typeof parseAuth>;
  try {
    parsed = parseAuth(argv);
  } catch (error) {
    throw new UsageError(`${kind}: ${parseArgsMessage(error, AUTH_OPTIONS)}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help', topic: kind };
  if (kind !== 'login' && (values.header !== undefined || values['header-file'] !== undefined))
    throw new UsageError(`${kind}: --header and --header-file are for login only`);
  if (positionals.length > 1) throw new UsageError(`${kind}: unexpected argument "${positionals[1]}"`);
  const url = positionals[0] === undefined ? undefined : parseUrl(positionals[0]);
  const json = values.json ?? false;
  if (kind === 'status') return { kind, url, json };
  // login and logout send requests: the server's initialize, a token revocation.
  if (url !== undefined) checkPlainHttp(url, { allowed: values['allow-http'] ?? false, where: kind });
  if (kind === 'logout') {
    if (url === undefined && !values.all) throw new UsageError('logout: missing <url> (or --all)');
    return { kind, url, all: values.all ?? false, json, network: networkSettingsOf(values, env) };
  }
  if (url === undefined) throw new UsageError('login: missing <url>');
  const { headers, warnings } = collectHeaders(values.header ?? [], values['header-file'] ?? [], env);
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization'))
    throw new UsageError('login: an Authorization header and a sign-in exclude each other (the sign-in sets it)');
  const oauth = parseOAuthFlags(values, headers, env);
  if (oauth === undefined) throw new UsageError('login: --no-oauth makes no sense here');
  return {
    kind: 'login',
    url,
    oauth,
    headers,
    headerWarnings: warnings,
    force: values.force ?? false,
    json,
    network: networkSettingsOf(values, env),
  };
}

const AUTH_OPTIONS = {
  ...OAUTH_OPTIONS,
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  force: { type: 'boolean' },
  header: { type: 'string', multiple: true },
  'header-file': { type: 'string', multiple: true },
  'allow-http': { type: 'boolean' },
  ...NETWORK_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

function parseAuth(args: readonly string[]) {
  return parseArgs({ args: [...args], options: AUTH_OPTIONS, allowPositionals: true, strict: true });
}

function readJsonObject(flag: string, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${flag} ${file}: not JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${flag} ${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function readClientInfo(file: string): OAuthClientInformationMixed {
  const info = readJsonObject('--oauth-client-info', file);
  if (typeof info['client_id'] !== 'string' || info['client_id'] === '')
    throw new UsageError(`--oauth-client-info ${file}: "client_id" is missing`);
  if (info['client_secret'] !== undefined && typeof info['client_secret'] !== 'string') {
    throw new UsageError(`--oauth-client-info ${file}: "client_secret" must be a string`);
  }
  return info as unknown as OAuthClientInformationMixed;
}
