import { isIP } from 'node:net';
import { isLoopbackHost } from '../shared/loopback.js';

/** Which `Host` and `Origin` values the gateway answers (DNS-rebinding protection). */
export interface OriginPolicy {
  /** Whether a request with this `Host` header may be served. */
  hostAllowed(host: string | undefined): boolean;
  /** Whether a request with this `Origin` header may be served (absent: not a browser; allowed). */
  originAllowed(origin: string | undefined): boolean;
}

export interface OriginPolicyOptions {
  /** The address the gateway listens on. */
  readonly bindHost: string;
  /** The port it listens on (the one actually bound). */
  readonly port: number;
  /** More `Host` values to accept (`name` or `name:port`); `*` accepts any. */
  readonly allowedHosts: readonly string[];
  /** More `Origin` values to accept (`https://app.example.com`); `*` accepts any. */
  readonly allowedOrigins: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/**
 * MCP 2025-11-25, basic/transports §Security Warning: servers MUST validate the `Origin` header,
 * and local servers should bind to localhost, to stop DNS rebinding (a web page whose name
 * resolves to 127.0.0.1 would otherwise reach the gateway from the user's browser).
 *
 * Bound to loopback, the gateway answers only `Host: localhost|127.0.0.1|[::1]` on its port (plus
 * `allowedHosts`). Bound elsewhere it requires a client credential anyway, which a rebinding page
 * does not have; `Host` is then checked only when `allowedHosts` is given. A browser `Origin` must
 * be one of the accepted hosts over http(s), or listed in `allowedOrigins`.
 */
export function createOriginPolicy(options: OriginPolicyOptions): OriginPolicy {
  const anyHost = options.allowedHosts.includes('*');
  const anyOrigin = options.allowedOrigins.includes('*');
  const loopback = isLoopbackHost(options.bindHost);
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  const add = (host: string) => {
    const lower = host.toLowerCase();
    if (/:\d+$/.test(lower) && !/^\[[^\]]*\]$/.test(lower)) exact.add(lower);
    else anyPort.add(lower);
  };
  if (loopback) for (const name of LOOPBACK_NAMES) exact.add(`${name}:${options.port}`);
  if (!loopback || !isIP(options.bindHost)) exact.add(`${hostLiteral(options.bindHost)}:${options.port}`);
  for (const host of options.allowedHosts) if (host !== '*') add(host);
  const checkHost = !anyHost && (loopback || options.allowedHosts.length > 0);
  const origins = new Set(options.allowedOrigins.filter((origin) => origin !== '*').map((origin) => origin.toLowerCase()));

  const known = (host: string): boolean => {
    const lower = host.toLowerCase();
    if (exact.has(lower) || anyPort.has(lower)) return true;
    const name = lower.replace(/:\d+$/, '');
    return anyPort.has(name);
  };

  return {
    hostAllowed(host) {
      if (!checkHost) return true;
      return host !== undefined && known(host);
    },
    originAllowed(origin) {
      if (origin === undefined || anyOrigin) return true;
      const lower = origin.toLowerCase();
      if (origins.has(lower)) return true;
      let url: URL;
      try {
        url = new URL(lower);
      } catch {
        return false;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
      return known(url.host);
    },
  };
}

function hostLiteral(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host.toLowerCase();
}
