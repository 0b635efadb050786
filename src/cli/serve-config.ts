import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { EraChoice } from '../upstream/negotiate.js';
import { type OAuthFlags, parseOAuthFlags } from './auth-args.js';
import { parseEraArgs } from './era-args.js';
import { expandVariables, type HeaderSet, readHeaderLines } from './headers.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { restartWindowMs } from './restart-window-arg.js';
import { UsageError } from './usage-error.js';
import { type ProxyChoice, parseChoice, parseDuration, parseProxyChoice, parseSize, parseToolPattern, parseUrl } from './values.js';

/** One upstream as the command line or the config file gives it. */
export interface ServeUpstreamConfig {
  readonly name: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly forwardHeaders: readonly string[];
  /** Sign in to this upstream as the gateway (a stored `mcp-lifeline login`, or client credentials). */
  readonly oauth: OAuthFlags | undefined;
  /** Its era and transport when not plain 2025 Streamable HTTP (served at the message level). */
  readonly era: EraChoice | undefined;
  /** Tools hidden from clients (`ignoreTools`, `--ignore-tool`). */
  readonly ignoreTools: readonly string[];
  /** When not empty, the only tools clients see (`allowTools`, `--allow-tool`). */
  readonly allowTools: readonly string[];
  /** `allowHttp: true` on this upstream in the config file: plain http to another machine, on purpose. */
  readonly allowHttp?: boolean | undefined;
}

/** What a config file may set; every field optional, flags override. */
export interface ServeConfig {
  readonly upstreams?: readonly ServeUpstreamConfig[];
  readonly host?: string;
  readonly port?: number;
  readonly store?: string;
  readonly storePrefix?: string;
  readonly keyFile?: string;
  readonly tokenFile?: string;
  readonly allowedHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  readonly maxBodyBytes?: number;
  readonly maxStreamsPerSession?: number;
  readonly maxSessionsPerCaller?: number;
  readonly maxMessageBytes?: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  readonly headersTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly storeTimeoutMs?: number;
  readonly sessionIdleTtlMs?: number;
  readonly sessionMaxAgeMs?: number;
  readonly maxRecords?: number;
  readonly timeoutMs?: number;
  readonly restartWindowMs?: number;
  readonly drainTimeoutMs?: number;
  readonly logLevel?: LogLevel;
  readonly logFormat?: LogFormat;
  readonly logFile?: string;
  /** Upstream headers with no credential after expansion (see `HeaderSet.warnings`). */
  readonly warnings?: readonly string[];
  /** Plain http to upstreams on other machines, for every upstream (`--allow-http`). */
  readonly allowHttp?: boolean;
  /** The proxy to reach upstreams through (`--proxy`): `env`, `off` or a URL. */
  readonly proxy?: ProxyChoice;
  /** CA files trusted besides Node's (`--ca-file`). */
  readonly caFiles?: readonly string[];
}

const TOP_LEVEL = new Set([
  'upstreams',
  'allowHttp',
  'proxy',
  'caFile',
  'host',
  'port',
  'store',
  'storePrefix',
  'keyFile',
  'tokenFile',
  'allowedHosts',
  'allowedOrigins',
  'limits',
  'sessionTtl',
  'sessionMaxAge',
  'maxRecords',
  'timeout',
  'restartWindow',
  'drainTimeout',
  'headersTimeout',
  'idleTimeout',
  'bodyTimeout',
  'metricsPort',
  'metricsHost',
  'storeTimeout',
  'logLevel',
  'logFormat',
  'logFile',
]);
const UPSTREAM_KEYS = new Set([
  'name',
  'url',
  'headers',
  'forwardHeaders',
  'oauth',
  'protocol',
  'transport',
  'ignoreTools',
  'allowTools',
  'allowHttp',
]);
const OAUTH_KEYS = new Set(['clientCredentials', 'scope', 'clientMetadataUrl']);
const LIMIT_KEYS = new Set([
  'maxBody',
  'maxStreamsPerSession',
  'maxSessionsPerCaller',
  'maxMessageSize',
  'maxConnections',
  'maxConnectionsPerAddress',
]);

/**
 * Reads a `serve` config file, JSON or YAML (by content: JSON is YAML too). `${VAR}` in an upstream's
 * `url` and header values and in `store` is read from the environment, as for `--header`, so secrets
 * stay out of the file. Unknown keys are errors (a typo would otherwise be silently ignored).
 */
/**
 * The YAML parser, loaded when a config file is read: every command parses its arguments through
 * this module, and the bridge, which never reads a config file, would hold the parser (about 9 MB
 * of resident memory) for hours. `require`, because argument parsing is synchronous.
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

export function readServeConfig(path: string, env: NodeJS.ProcessEnv): ServeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON or YAML: ${(error as Error).message.split('\n', 1)[0]}`);
  }
  return parseServeConfig(data, `--config ${path}`, env);
}

/** Validates parsed config data; `where` prefixes every error. */
export function parseServeConfig(data: unknown, where: string, env: NodeJS.ProcessEnv): ServeConfig {
  const root = object(data, where);
  unknownKeys(root, TOP_LEVEL, where);
  const limits = root['limits'] === undefined ? {} : object(root['limits'], `${where}: limits`);
  unknownKeys(limits, LIMIT_KEYS, `${where}: limits`);
  const config: Record<string, unknown> = {
    host: optional(root, 'host', 'string', where),
    port: optional(root, 'port', 'number', where),
    store: mapOptional(optional(root, 'store', 'string', where), (store) => expandVariables(store, `${where}: store`, env)),
    storePrefix: optional(root, 'storePrefix', 'string', where),
    keyFile: optional(root, 'keyFile', 'string', where),
    tokenFile: optional(root, 'tokenFile', 'string', where),
    allowedHosts: strings(root['allowedHosts'], `${where}: allowedHosts`),
    allowedOrigins: strings(root['allowedOrigins'], `${where}: allowedOrigins`),
    maxBodyBytes: mapOptional(scalar(limits, 'maxBody', where), (value) => parseSize(`${where}: limits.maxBody`, value)),
    maxStreamsPerSession: optional(limits, 'maxStreamsPerSession', 'number', where),
    maxSessionsPerCaller: optional(limits, 'maxSessionsPerCaller', 'number', where),
    maxMessageBytes: mapOptional(scalar(limits, 'maxMessageSize', where), (value) => parseSize(`${where}: limits.maxMessageSize`, value)),
    maxConnections: optional(limits, 'maxConnections', 'number', where),
    maxConnectionsPerAddress: optional(limits, 'maxConnectionsPerAddress', 'number', where),
    headersTimeoutMs: mapOptional(scalar(root, 'headersTimeout', where), (value) => parseDuration(`${where}: headersTimeout`, value)),
    idleTimeoutMs: mapOptional(scalar(root, 'idleTimeout', where), (value) => parseDuration(`${where}: idleTimeout`, value)),
    bodyTimeoutMs: mapOptional(scalar(root, 'bodyTimeout', where), (value) => parseDuration(`${where}: bodyTimeout`, value)),
    metricsPort: optional(root, 'metricsPort', 'number', where),
    metricsHost: optional(root, 'metricsHost', 'string', where),
    storeTimeoutMs: mapOptional(scalar(root, 'storeTimeout', where), (value) => parseDuration(`${where}: storeTimeout`, value)),
    sessionIdleTtlMs: mapOptional(scalar(root, 'sessionTtl', where), (value) => parseDuration(`${where}: sessionTtl`, value)),
    sessionMaxAgeMs: mapOptional(scalar(root, 'sessionMaxAge', where), (value) => parseDuration(`${where}: sessionMaxAge`, value)),
    maxRecords: optional(root, 'maxRecords', 'number', where),
    timeoutMs: mapOptional(scalar(root, 'timeout', where), (value) => parseDuration(`${where}: timeout`, value)),
    restartWindowMs: mapOptional(scalar(root, 'restartWindow', where), (value) => restartWindowMs(`${where}: restartWindow`, value)),
    drainTimeoutMs: mapOptional(scalar(root, 'drainTimeout', where), (value) => parseDuration(`${where}: drainTimeout`, value)),
    logLevel: mapOptional(optional(root, 'logLevel', 'string', where), (level) => parseChoice(`${where}: logLevel`, level, LOG_LEVELS)),
    logFormat: mapOptional(optional(root, 'logFormat', 'string', where), (format) =>
      parseChoice(`${where}: logFormat`, format, LOG_FORMATS),
    ),
    logFile: optional(root, 'logFile', 'string', where),
    allowHttp: optional(root, 'allowHttp', 'boolean', where),
    proxy: mapOptional(optional(root, 'proxy', 'string', where), (text) =>
      parseProxyChoice(`${where}: proxy`, expandVariables(text, `${where}: proxy`, env)),
    ),
    caFiles: typeof root['caFile'] === 'string' ? [root['caFile']] : strings(root['caFile'], `${where}: caFile`),
  };
  const warnings: string[] = [];
  if (root['upstreams'] !== undefined) {
    config['upstreams'] = array(root['upstreams'], `${where}: upstreams`).map((item, index) =>
      upstream(item, `${where}: upstreams[${index}]`, { env, warnings }),
    );
  }
  if (warnings.length > 0) config['warnings'] = warnings;
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as ServeConfig;
}

function upstream(data: unknown, where: string, context: { env: NodeJS.ProcessEnv; warnings: string[] }): ServeUpstreamConfig {
  const { env } = context;
  const item = object(data, where);
  unknownKeys(item, UPSTREAM_KEYS, where);
  const urlText = optional(item, 'url', 'string', where);
  if (urlText === undefined) throw new UsageError(`${where}: "url" is required`);
  const url = parseUrl(expandVariables(urlText, `${where}: url`, env));
  const headerObject = item['headers'] === undefined ? {} : object(item['headers'], `${where}: headers`);
  const lines = Object.entries(headerObject).map(([name, value]) => {
    if (typeof value !== 'string') throw new UsageError(`${where}: headers.${name} must be a string`);
    // Named by its key in the file: an unset ${VAR} is this file's problem, not a --header's.
    return { line: `${name}: ${value}`, where: `${where}: headers.${name}` };
  });
  // The same parsing and ${VAR} expansion as --header.
  const { headers, warnings }: HeaderSet = readHeaderLines(lines, env);
  context.warnings.push(...warnings);
  const forwardHeaders = (strings(item['forwardHeaders'], `${where}: forwardHeaders`) ?? []).map((header) => header.toLowerCase());
  return {
    name: optional(item, 'name', 'string', where) ?? url.hostname,
    url,
    headers,
    forwardHeaders,
    oauth:
      item['oauth'] === undefined || item['oauth'] === false
        ? undefined
        : upstreamOAuth(item['oauth'], { headers, forwardHeaders, where, env }),
    era: upstreamEra({ protocol: optional(item, 'protocol', 'string', where), transport: optional(item, 'transport', 'string', where) }),
    ...upstreamTools(item, where),
    allowHttp: optional(item, 'allowHttp', 'boolean', where),
  };
}

/** `ignoreTools` and `allowTools`: lists of tool-name patterns, `*` for any run of characters. */
function upstreamTools(item: Record<string, unknown>, where: string): Pick<ServeUpstreamConfig, 'ignoreTools' | 'allowTools'> {
  const patterns = (key: string) =>
    (strings(item[key], `${where}: ${key}`) ?? []).map((text) => parseToolPattern(`${where}: ${key}`, text));
  return { ignoreTools: patterns('ignoreTools'), allowTools: patterns('allowTools') };
}

/**
 * The era route for `protocol`/`transport` (or `--protocol`/`--transport`): none given, or 2025
 * over Streamable HTTP, is the HTTP-level pass-through (undefined); anything else, `auto` included,
 * is served at the message level by the era adapters.
 */
export function upstreamEra(values: {
  readonly protocol?: string | undefined;
  readonly transport?: string | undefined;
}): EraChoice | undefined {
  if (values.protocol === undefined && values.transport === undefined) return undefined;
  const choice = parseEraArgs(values);
  return choice.protocol === '2025' && choice.transport === 'http' ? undefined : choice;
}

/**
 * `oauth: true` (a sign-in stored by `mcp-lifeline login URL`, refreshed as needed) or
 * `oauth: { clientCredentials: true, scope, clientMetadataUrl }`. The gateway signs in as itself,
 * never interactively: no user sits at a server.
 */
export function upstreamOAuth(
  data: unknown,
  context: { headers: Readonly<Record<string, string>>; forwardHeaders: readonly string[]; where: string; env: NodeJS.ProcessEnv },
): OAuthFlags {
  const { where } = context;
  const options = data === true ? {} : object(data, `${where}: oauth`);
  unknownKeys(options, OAUTH_KEYS, `${where}: oauth`);
  if (context.forwardHeaders.includes('authorization')) {
    throw new UsageError(`${where}: "oauth" and a forwarded Authorization header exclude each other (who would the upstream see?)`);
  }
  const clientCredentials = options['clientCredentials'];
  if (clientCredentials !== undefined && typeof clientCredentials !== 'boolean')
    throw new UsageError(`${where}: oauth.clientCredentials must be true or false`);
  const flags = parseOAuthFlags(
    {
      'no-browser': true,
      ...(clientCredentials === true ? { 'oauth-client-credentials': true } : {}),
      ...mapDefined('oauth-scope', optional(options, 'scope', 'string', `${where}: oauth`)),
      ...mapDefined('oauth-client-metadata-url', optional(options, 'clientMetadataUrl', 'string', `${where}: oauth`)),
    },
    context.headers as Record<string, string>,
    context.env,
  );
  if (flags === undefined) throw new UsageError(`${where}: "oauth" and an Authorization header exclude each other`);
  return flags;
}

function mapDefined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
}

function object(data: unknown, where: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${where}: expected an object`);
  return data as Record<string, unknown>;
}

function array(data: unknown, where: string): unknown[] {
  if (!Array.isArray(data)) throw new UsageError(`${where}: expected a list`);
  return data;
}

function strings(data: unknown, where: string): string[] | undefined {
  if (data === undefined) return undefined;
  return array(data, where).map((item) => {
    if (typeof item !== 'string') throw new UsageError(`${where}: expected a list of strings`);
    return item;
  });
}

function unknownKeys(data: Record<string, unknown>, known: Set<string>, where: string): void {
  const unknown = Object.keys(data).find((key) => !known.has(key));
  if (unknown !== undefined) throw new UsageError(`${where}: unknown key "${unknown}" (known: ${[...known].join(', ')})`);
}

type Scalar<T extends 'string' | 'number' | 'boolean'> = T extends 'string' ? string : T extends 'number' ? number : boolean;

function optional<T extends 'string' | 'number' | 'boolean'>(
  data: Record<string, unknown>,
  key: string,
  type: T,
  where: string,
): Scalar<T> | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== type) throw new UsageError(`${where}: "${key}" must be ${type === 'boolean' ? 'true or false' : `a ${type}`}`);
  return value as Scalar<T>;
}

/** A duration or size, written as a number or a string such as "24h". */
function scalar(data: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = data[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`${where}: "${key}" must be a number or a string`);
  return String(value);
}

function mapOptional<T, U>(value: T | undefined, map: (value: T) => U): U | undefined {
  return value === undefined ? undefined : map(value);
}
