import type { LogFields } from './logger.js';
import { UsageError } from './usage-error.js';
import { type ProxyChoice, parseProxyUrl } from './values.js';

/** One proxy and where its URL came from (`HTTPS_PROXY`, `--proxy`, a config file's `proxy`). */
export interface NamedProxy {
  readonly url: URL;
  readonly from: string;
}

/**
 * Which proxy each kind of URL goes through, resolved once at startup: `https` for https:// URLs,
 * `http` for http:// ones (undefined: straight to the server), and the hosts that never go
 * through one (`NO_PROXY`'s list, as undici reads it).
 */
export interface ProxySettings {
  readonly https: NamedProxy | undefined;
  readonly http: NamedProxy | undefined;
  readonly noProxy: string;
}

/** The variables each kind of URL reads, lower case first as curl, npm and undici read them. */
const VARIABLES = {
  http: ['http_proxy', 'HTTP_PROXY'],
  https: ['https_proxy', 'HTTPS_PROXY'],
  noProxy: ['no_proxy', 'NO_PROXY'],
} as const;

/**
 * The proxies a command uses. `env` (the default) reads `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`
 * in either case, as curl and npm do: https:// URLs go through `HTTPS_PROXY`, or `HTTP_PROXY` when it
 * is not set (as npm and undici read them); `off` sends everything straight; a URL (`--proxy`) takes
 * every request, `NO_PROXY` still honoured. `where` names the choice in errors (`--proxy`).
 * Throws a UsageError naming the variable when one holds no proxy URL.
 */
export function resolveProxySettings(choice: ProxyChoice, env: NodeJS.ProcessEnv, where = '--proxy'): ProxySettings {
  const noProxy = firstSet(env, VARIABLES.noProxy)?.value ?? '';
  switch (choice.kind) {
    case 'off':
      return { https: undefined, http: undefined, noProxy: '' };
    case 'url': {
      const proxy = { url: choice.url, from: where };
      return { https: proxy, http: proxy, noProxy };
    }
    case 'env': {
      const named = (names: readonly string[]): NamedProxy | undefined => {
        const found = firstSet(env, names);
        if (found === undefined) return undefined;
        try {
          return { url: parseProxyUrl(found.name, found.value), from: found.name };
        } catch (error) {
          if (error instanceof UsageError) throw new UsageError(`${error.message} (--proxy off ignores the environment's proxy)`);
          throw error;
        }
      };
      const http = named(VARIABLES.http);
      return { https: named(VARIABLES.https) ?? http, http, noProxy };
    }
  }
}

/** The first variable of `names` set to something other than blanks. */
function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** A proxy as logs name it: its origin, never its user name or password. */
export function describeProxy(proxy: NamedProxy): string {
  const credentials = proxy.url.username !== '' || proxy.url.password !== '' ? ', credentials not shown' : '';
  return `${proxy.url.protocol}//${proxy.url.host} (${proxy.from}${credentials})`;
}

/**
 * The startup log's account of the way out, or undefined when requests go straight to servers
 * with Node's own CAs (nothing to say): which proxy https:// and http:// URLs take, the hosts that
 * skip it, the CA files added.
 */
export function describeOutbound(settings: ProxySettings, caFiles: readonly string[]): { text: string; fields: LogFields } | undefined {
  const { https, http, noProxy } = settings;
  if (https === undefined && http === undefined && caFiles.length === 0) return undefined;
  const fields: LogFields = {
    httpsProxy: https === undefined ? undefined : describeProxy(https),
    httpProxy: http === undefined ? undefined : describeProxy(http),
    noProxy: (https ?? http) !== undefined && noProxy !== '' ? noProxy : undefined,
    caFile: caFiles.length === 0 ? undefined : caFiles.join(', '),
  };
  const parts: string[] = [];
  if (https !== undefined && https === http) parts.push(`proxy ${describeProxy(https)} for every server`);
  else {
    if (https !== undefined) parts.push(`proxy ${describeProxy(https)} for https:// servers`);
    if (http !== undefined) parts.push(`proxy ${describeProxy(http)} for http:// servers`);
  }
  if (fields['noProxy'] !== undefined) parts.push(`none for NO_PROXY ${noProxy}`);
  if (caFiles.length > 0) parts.push(`the CAs in ${caFiles.join(', ')} trusted besides Node's`);
  return { text: parts.join('; '), fields };
}

/** Every proxy's password, alone and as its Proxy-Authorization carries it: the CLI's logs scrub them should anything quote one. */
export function proxyCredentials(settings: ProxySettings): string[] {
  return [settings.https, settings.http].flatMap((proxy) => {
    if (proxy === undefined || proxy.url.password === '') return [];
    const [user, password] = [decodeURIComponent(proxy.url.username), decodeURIComponent(proxy.url.password)];
    return [password, Buffer.from(`${user}:${password}`).toString('base64')];
  });
}
