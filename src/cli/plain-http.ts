import { isLoopbackHost } from '../shared/loopback.js';
import { describeUrl } from '../shared/redact.js';
import { UsageError } from './usage-error.js';

/** The flag that lets plain http reach another machine. */
export const ALLOW_HTTP_FLAG = '--allow-http';

/**
 * The plain-http guard of every command that sends requests (the bridge, probe, login, logout,
 * serve's upstreams), as mcp-remote has it: an `http:` URL only to this machine unless the user
 * said otherwise, since every header and token would cross the network unencrypted. Loopback is
 * known by name, before any lookup: `localhost`, 127.0.0.0/8, `[::1]` (a name that resolves to
 * loopback, 0.0.0.0 and `*.localhost` need `allowed` too: a lookup may answer otherwise tomorrow).
 * Throws a UsageError (exit 2) naming how to allow it; `where` says which URL (`<url>`, an upstream).
 */
export function checkPlainHttp(
  url: URL,
  options: { readonly allowed: boolean; readonly where: string; readonly how?: string | undefined },
): void {
  if (url.protocol !== 'http:' || options.allowed || isLoopbackHost(url.hostname)) return;
  throw new UsageError(
    `${options.where}: refusing plain http to ${describeUrl(url.href)}: headers and tokens would cross the network unencrypted. ` +
      `Use https, or ${options.how ?? `pass ${ALLOW_HTTP_FLAG}`} if this network is trusted (plain http to localhost, 127.0.0.1 or [::1] needs nothing)`,
  );
}
