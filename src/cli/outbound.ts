import { createRequire } from 'node:module';
import type { Dispatcher } from 'undici';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { globalDispatcher } from '../upstream/global-dispatcher.js';
import { trustedWith } from './ca-certificates.js';
import { certificateErrorOf } from './certificate-errors.js';
import type { NetworkSettings } from './network-args.js';
import { outboundErrors } from './outbound-errors.js';

/**
 * The one HTTP client of a command that reaches servers (the bridge, probe, login, logout, serve):
 * undici's `EnvHttpProxyAgent` when a proxy is in use (NO_PROXY's hosts straight, the rest through
 * it: CONNECT for https://, absolute-form requests for http:// as curl sends them), an `Agent` with
 * the extra CAs on every TLS connection when there are some, and otherwise Node's own (the npm
 * package's agents cost a bridge about 20 MB of resident memory); certificate and proxy failures
 * in words on each. The CLI entry installs it as undici's global dispatcher, which Node's own
 * fetch reads too: every request of the command follows, the sign-in's included. The library
 * entries never see it: a program's fetch decides.
 */
export function createOutbound(settings: NetworkSettings, env: NodeJS.ProcessEnv): Dispatcher {
  const { https, http, noProxy } = settings.proxies;
  const direct = https === undefined && http === undefined;
  if (plainWayOut(settings)) return globalDispatcher().compose(outboundErrors(settings.proxies));
  const undici = createRequire(import.meta.url)('undici') as typeof import('undici');
  const tls = settings.certificates.length === 0 ? {} : { ca: trustedWith(settings.certificates, env) };
  const agent = direct
    ? new undici.Agent({ connect: tls })
    : new undici.EnvHttpProxyAgent({
        // Given explicitly (resolved at startup); '' is "none", not "read the environment".
        httpsProxy: https?.url.href ?? '',
        httpProxy: http?.url.href ?? '',
        noProxy,
        connect: tls,
        requestTls: tls,
        proxyTls: tls,
        // http:// through an http:// proxy as curl sends it (GET http://host/path), not tunnelled:
        // proxies commonly allow CONNECT only to port 443.
        proxyTunnel: false,
      });
  return agent.compose(outboundErrors(settings.proxies));
}

/**
 * The fetch a command that talks to one server for long (the bridge) sends its requests with: Node's
 * own HTTP client when the way out is plain (no proxy, Node's CAs), a refused certificate in words,
 * as `outbound` words it; otherwise undici's on `outbound`, the command's dispatcher. Node's HTTP
 * parser is compiled in, where undici's is WebAssembly whose optimizing compile costs a bridge
 * about 20 MB at its peak, and each exchange more CPU than Node's (issue 21).
 */
export async function outboundFetch(settings: NetworkSettings, outbound: Dispatcher): Promise<FetchLike> {
  return (await outboundFetches(settings, outbound))();
}

/** What makes {@linkcode outboundFetch}'s fetch, one per server a command talks to (`serve`'s upstreams): each keeps its own connections. */
export async function outboundFetches(settings: NetworkSettings, outbound: Dispatcher): Promise<() => FetchLike> {
  if (!plainWayOut(settings)) {
    const { createUndiciFetch } = await import('../upstream/undici-fetch.js');
    return () => createUndiciFetch(outbound);
  }
  const { createNodeHttpFetch } = await import('../upstream/node-http-fetch.js');
  return () => createNodeHttpFetch({ failure: (error, origin) => certificateErrorOf(error, origin.host) ?? error });
}

/** Straight to every server, trusting Node's CAs: Node's own agent and HTTP client serve. */
function plainWayOut(settings: NetworkSettings): boolean {
  return settings.proxies.https === undefined && settings.proxies.http === undefined && settings.certificates.length === 0;
}
