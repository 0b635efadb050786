import { networkErrorText } from '../errors/network-error-text.js';
import { ProxyError } from '../errors/ProxyError.js';
import { describeProxy, type NamedProxy, type ProxySettings } from './proxy-settings.js';

// undici's words for a proxy's refusal: of a CONNECT tunnel, and of a plain-http request.
const TUNNEL_REFUSED = /Proxy response \((\d{3})\) !== 200/;
const REQUEST_REFUSED = /Proxy Authentication Required \((407)\)/;
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

interface Failure {
  readonly code?: unknown;
  readonly message?: string;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly cause?: unknown;
}

/**
 * The ProxyError for `error` when the proxy of `origin` failed it (unreachable, or it refused
 * the request), else undefined: the server's own failures pass untouched.
 */
export function proxyErrorOf(error: Error, context: { readonly origin: URL; readonly proxies: ProxySettings }): ProxyError | undefined {
  const proxy = context.origin.protocol === 'https:' ? context.proxies.https : context.proxies.http;
  if (proxy === undefined) return undefined;
  const host = context.origin.host;
  const named = describeProxy(proxy);
  for (const failure of chainOf(error)) {
    const refused = TUNNEL_REFUSED.exec(failure.message ?? '') ?? REQUEST_REFUSED.exec(failure.message ?? '');
    if (refused !== null) {
      const status = Number(refused[1]);
      return new ProxyError({ proxy: named, host, status, message: refusal(named, host, status, proxy) }, { cause: error });
    }
    if (typeof failure.code === 'string' && UNREACHABLE.has(failure.code) && isTheProxy(failure, proxy)) {
      const message =
        `cannot reach the proxy ${named}: ${networkErrorText(error)}. Check ${proxy.from}, ` +
        `or reach ${context.origin.hostname} straight: add it to NO_PROXY, or pass --proxy off`;
      return new ProxyError({ proxy: named, host, status: undefined, message }, { cause: error });
    }
  }
  return undefined;
}

function refusal(named: string, host: string, status: number, proxy: NamedProxy): string {
  const said = `the proxy ${named} refused to carry the request to ${host}: HTTP ${status}`;
  if (status === 407) {
    return proxy.url.username === ''
      ? `${said}: it wants credentials; put them in its URL (http://user:password@proxy:port, percent-encoded) in ${proxy.from}`
      : `${said}: it did not accept the credentials in its URL (${proxy.from})`;
  }
  if (status === 403)
    return `${said}: its rules do not allow that host; ask its operator, or add the host to NO_PROXY if it is reachable straight`;
  return `${said}${status >= 500 ? ': it could not reach the server' : ''}`;
}

/** The failure happened on the way to the proxy, not beyond it: its address or name is the proxy's. */
function isTheProxy(failure: Failure, proxy: NamedProxy): boolean {
  const port = Number(proxy.url.port || (proxy.url.protocol === 'https:' ? 443 : 80));
  const hostname = proxy.url.hostname.replace(/^\[|\]$/g, '');
  if (failure.hostname === hostname) return true;
  return failure.address === hostname && Number(failure.port) === port;
}

function* chainOf(error: Error): Generator<Failure> {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    yield current as Failure;
    current = (current as Failure).cause ?? (current as { errors?: unknown[] }).errors?.[0];
  }
}
