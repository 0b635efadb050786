import { readFileSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { MissingPackageError } from '../errors/MissingPackageError.js';
import { networkErrorText } from '../errors/network-error-text.js';
import { type CallerCredentials, parseCallerTokens } from '../gateway/caller-credentials.js';
import { GatewayConfigError, sharedStoreWithoutKeys } from '../gateway/GatewayConfigError.js';
import { type Gateway, startGateway } from '../gateway/gateway.js';
import { type GatewayOptions, resolveGatewayOptions } from '../gateway/gateway-options.js';
import { createRedisStore, describeStoreUrl, loadRedisClient } from '../gateway/redis-store.js';
import type { SessionStore } from '../gateway/session-store.js';
import { parseSessionKeys } from '../gateway/session-token.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { describeUrl } from '../shared/redact.js';
import { createSecretScrubber, type SecretScrubber } from '../shared/secret-scrubber.js';
import { globalDispatcher } from '../upstream/global-dispatcher.js';
import { createToolFilter } from '../upstream/tool-filter.js';
import { EXIT } from './exit-codes.js';
import type { LogSink } from './log-file.js';
import { createLogger, type Logger } from './logger.js';
import { createCliSession, createOAuthFetch } from './oauth-fetch.js';
import { outboundFetches } from './outbound.js';
import { plural } from './plural.js';
import { describeOutbound, proxyCredentials } from './proxy-settings.js';
import type { ServeCommand } from './serve-args.js';
import { SERVE_HELP } from './serve-args.js';
import { recordSentCredentials } from './serve-sent-credentials.js';
import { hasStoredSignIn } from './stored-sign-in.js';
import { UsageError } from './usage-error.js';

const REDIS_URL = /^rediss?:\/\//;

/** Where `serve` talks to its process: the CLI entry passes the real ones. */
export interface ServeIo {
  readonly stdout: Writable;
  /** Where the log goes: stderr, and the `--log-file` when one is given. */
  readonly stderr: LogSink;
  readonly env: NodeJS.ProcessEnv;
  /** Registers a signal handler (SIGTERM, SIGINT). */
  readonly onSignal: (signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', handler: () => void) => void;
  /** The HTTP client upstreams are reached with (the command's proxy and CAs). @default undici's global dispatcher */
  readonly outbound?: Dispatcher | undefined;
}

/** The environment variable that may hold the session-id keys (one a line, or comma separated). */
const SESSION_KEYS_ENV = 'MCP_LIFELINE_SESSION_KEYS';

/** Runs `mcp-lifeline serve` until SIGTERM or SIGINT; resolves with the exit code. */
export async function serveCommand(command: ServeCommand, io: ServeIo): Promise<number> {
  if (command.help) {
    io.stdout.write(`${SERVE_HELP}\n`);
    return EXIT.ok;
  }
  const log = createLogger({ level: command.logLevel, format: command.logFormat, out: io.stderr, scrub: secretsOfServe(command).scrub });
  for (const warning of command.warnings) log.warn(warning);
  const sessionKeys = readKeys(command, io.env, log);
  const callers = command.tokenFile === undefined ? undefined : readCallers(command.tokenFile, log);
  const http = await outboundFetches(command.network, io.outbound ?? globalDispatcher());
  const options = gatewayOptions(command, { log, env: io.env, sessionKeys, callers, http });
  // Every refusal before the first connection: a store is never contacted for a gateway that will not start.
  try {
    resolveGatewayOptions(options);
    if (command.store !== 'memory') {
      if (!REDIS_URL.test(command.store)) throw new UsageError(`serve: --store must be "memory" or a redis:// (or rediss://) URL`);
      // The package first: the line that brings it (npx -p … -p @redis/client) is what the user needs next.
      await loadRedisClient();
      if (sessionKeys === undefined) throw sharedStoreWithoutKeys('redis');
    }
  } catch (error) {
    // @redis/client is an optional peer dependency: say which package, and the npx line that brings it.
    if (error instanceof GatewayConfigError || error instanceof MissingPackageError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  }
  const store = await openStore(command, log);
  let gateway: Gateway;
  try {
    gateway = await startGateway({ ...options, store });
  } catch (error) {
    await store?.close().catch(() => {});
    if (error instanceof GatewayConfigError) throw new UsageError(`serve: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`serve: port ${command.port} on ${command.host} is already in use (--port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new UsageError(`serve: cannot listen on ${command.host}:${command.port} (${code})`);
    throw error;
  }
  for (const upstream of command.upstreams) {
    const oauth = await describeSignIn(upstream, io.env);
    log.info('serving', {
      upstream: upstream.name,
      endpoint: (gateway.endpoints[upstream.name] ?? []).map((path) => `${gateway.origin}${path}`).join(' '),
      url: describeUrl(upstream.url.href),
      oauth,
      tools: createToolFilter({ ignore: upstream.ignoreTools, allow: upstream.allowTools })?.description,
    });
    if (oauth === 'none stored')
      log.warn(
        `upstream "${upstream.name}": no sign-in is stored for ${describeUrl(upstream.url.href)}; its requests fail until you run: mcp-lifeline login ${describeUrl(upstream.url.href)}`,
      );
  }
  const network = describeOutbound(command.network.proxies, command.network.caFiles);
  if (network !== undefined) log.info('network', network.fields);
  log.info('listening', {
    address: gateway.origin,
    metrics: gateway.metricsOrigin,
    store: gateway.store.kind,
    credentials: callers === undefined ? 'none (loopback only)' : plural(callers.size, 'token'),
    keys: sessionKeys === undefined ? 'random (sessions end with this process)' : `${sessionKeys.length}`,
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) io.onSignal(signal, () => void gateway.shutdown(signal));
  // SIGHUP: read the key and token files again (key rotation, new or revoked callers), no restart.
  const reload = () => {
    try {
      const keys = readKeys(command, io.env, log);
      gateway.reloadCredentials({
        sessionKeys: keys,
        callers: command.tokenFile === undefined ? undefined : readCallers(command.tokenFile, log),
      });
      log.info('credentials reloaded', {
        keys: keys?.length ?? 'unchanged',
        tokens: command.tokenFile === undefined ? 'none' : 'reloaded',
      });
    } catch (error) {
      log.error(`reload refused, the previous credentials stay in force: ${(error as Error).message}`);
    }
    io.onSignal('SIGHUP', reload);
  };
  io.onSignal('SIGHUP', reload);
  await gateway.closed;
  return EXIT.ok;
}

/** What `startGateway` is given, but the store: built before anything is connected, so it can be checked first. */
function gatewayOptions(
  command: ServeCommand,
  context: {
    log: Logger;
    env: NodeJS.ProcessEnv;
    sessionKeys: Uint8Array[] | undefined;
    callers: CallerCredentials | undefined;
    /** A new HTTP client (its own keep-alive connections), one per upstream. */
    http: () => FetchLike;
  },
): GatewayOptions {
  const { log, env, sessionKeys, callers } = context;
  return {
    upstreams: command.upstreams.map(({ oauth, ...upstream }) => {
      // A keep-alive HTTP client per upstream; the OAuth seam of the gateway: a signed-in fetch under withSessionRecovery.
      const http = context.http();
      if (oauth === undefined) return { ...upstream, fetch: http as typeof fetch };
      // The tokens the sign-in adds, noted below it: what the upstream quotes of them is scrubbed too.
      const sent = recordSentCredentials(http);
      const session = createCliSession(upstream.url, oauth, { log, env });
      return {
        ...upstream,
        fetch: createOAuthFetch(session, { interactive: false, fetch: sent.fetch }) as typeof fetch,
        scrub: sent.scrub,
      };
    }),
    host: command.host,
    port: command.port,
    sessionKeys,
    callers,
    allowedHosts: command.allowedHosts,
    allowedOrigins: command.allowedOrigins,
    limits: {
      maxBodyBytes: command.maxBodyBytes,
      maxStreamsPerSession: command.maxStreamsPerSession,
      maxSessionsPerCaller: command.maxSessionsPerCaller,
      maxMessageBytes: command.maxMessageBytes,
      maxConnections: command.maxConnections,
      maxConnectionsPerAddress: command.maxConnectionsPerAddress,
    },
    sessionIdleTtlMs: command.sessionIdleTtlMs,
    sessionMaxAgeMs: command.sessionMaxAgeMs,
    maxRecords: command.maxRecords,
    timeoutMs: command.timeoutMs,
    restartWindowMs: command.restartWindowMs,
    drainTimeoutMs: command.drainTimeoutMs,
    bodyTimeoutMs: command.bodyTimeoutMs,
    headersTimeoutMs: command.headersTimeoutMs,
    idleTimeoutMs: command.idleTimeoutMs,
    metricsPort: command.metricsPort,
    metricsHost: command.metricsHost,
    log,
  };
}

/** The `oauth` field of the `serving` line: what is true of the upstream's sign-in now. */
async function describeSignIn(upstream: ServeCommand['upstreams'][number], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (upstream.oauth === undefined) return undefined;
  if (upstream.oauth.flow === 'client-credentials') return 'client credentials';
  return (await hasStoredSignIn(upstream.url, env)) ? 'stored sign-in' : 'none stored';
}

/** Every secret serve sends or holds: upstream header values, URL query values, the store's password. */
function secretsOfServe(command: ServeCommand): SecretScrubber {
  const secrets = createSecretScrubber();
  for (const upstream of command.upstreams) secrets.addRequest(upstream.headers, upstream.url);
  for (const secret of proxyCredentials(command.network.proxies)) secrets.add(secret);
  if (command.store !== 'memory') {
    try {
      const password = decodeURIComponent(new URL(command.store).password);
      if (password !== '') secrets.add(password);
    } catch {
      // An invalid store URL is refused later, with its own message.
    }
  }
  return secrets;
}

function readKeys(command: ServeCommand, env: NodeJS.ProcessEnv, log: Logger): Uint8Array[] | undefined {
  try {
    if (command.keyFile !== undefined)
      return parseSessionKeys(readSecretFile(command.keyFile, '--key-file', log), `--key-file ${command.keyFile}`);
    const fromEnv = env[SESSION_KEYS_ENV];
    if (fromEnv !== undefined && fromEnv.trim() !== '') return parseSessionKeys(fromEnv.replaceAll(',', '\n'), SESSION_KEYS_ENV);
    return undefined;
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  }
}

function readCallers(path: string, log: Logger): CallerCredentials {
  try {
    return parseCallerTokens(readSecretFile(path, '--token-file', log), `--token-file ${path}`);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  }
}

function readSecretFile(path: string, flag: string, log: Logger): string {
  try {
    // Secrets readable by others are still secrets we were given: say so, and go on.
    if ((statSync(path).mode & 0o077) !== 0) log.warn(`${flag} ${path} is readable by other users; chmod 600 it`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`serve: ${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

async function openStore(command: ServeCommand, log: Logger): Promise<SessionStore | undefined> {
  if (command.store === 'memory') return undefined;
  const store = await createRedisStore({
    url: command.store,
    idleTtlMs: command.sessionIdleTtlMs,
    prefix: command.storePrefix,
    commandTimeoutMs: command.storeTimeoutMs,
    // The client retries on its own; the gateway says once when an outage starts and when it ends.
    onError: (error) => log.debug(`store connection: ${networkErrorText(error)}`, { store: describeStoreUrl(command.store) }),
  }).catch((error: unknown) => {
    // @redis/client is an optional peer dependency: say which package, and the npx line that brings it.
    if (error instanceof MissingPackageError) throw new UsageError(`serve: ${error.message}`);
    throw error;
  });
  try {
    await store.ping();
  } catch (error) {
    log.warn(`store not reachable yet (the gateway starts anyway; /readyz answers 503 until it is): ${networkErrorText(error)}`);
  }
  return store;
}
