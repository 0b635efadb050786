import type { Dispatcher } from 'undici';
import { certificateErrorOf } from './certificate-errors.js';
import { proxyErrorOf } from './proxy-errors.js';
import type { ProxySettings } from './proxy-settings.js';

/**
 * An undici interceptor for the CLI's requests: a failure on the way to a server becomes an error
 * that names the host and what fixes it: a refused certificate a CertificateError (`--ca-file`,
 * `NODE_EXTRA_CA_CERTS`, a renewed certificate; never turning verification off), a proxy that
 * cannot be reached or refuses the request a ProxyError. Everything else passes untouched.
 */
export function outboundErrors(proxies: ProxySettings): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function outboundErrorsDispatch(options, handler) {
      return dispatch(options, new OutboundErrorHandler(handler, originOf(options.origin), proxies));
    };
}

function originOf(origin: Dispatcher.DispatchOptions['origin']): URL | undefined {
  try {
    return origin === undefined ? undefined : new URL(origin);
  } catch {
    return undefined;
  }
}

/** Passes every callback on; rewrites a certificate or proxy failure. */
class OutboundErrorHandler implements Dispatcher.DispatchHandler {
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #origin: URL | undefined;
  readonly #proxies: ProxySettings;

  constructor(handler: Dispatcher.DispatchHandler, origin: URL | undefined, proxies: ProxySettings) {
    this.#handler = handler;
    this.#origin = origin;
    this.#proxies = proxies;
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onRequestUpgrade']>>): void {
    this.#handler.onRequestUpgrade?.(...args);
  }

  onResponseStart(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>): void {
    this.#handler.onResponseStart?.(...args);
  }

  onResponseData(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseData']>>): void {
    this.#handler.onResponseData?.(...args);
  }

  onResponseEnd(...args: Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseEnd']>>): void {
    this.#handler.onResponseEnd?.(...args);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    const origin = this.#origin;
    const said =
      origin === undefined
        ? undefined
        : (certificateErrorOf(error, origin.host) ?? proxyErrorOf(error, { origin, proxies: this.#proxies }));
    this.#handler.onResponseError?.(controller, said ?? error);
  }
}
