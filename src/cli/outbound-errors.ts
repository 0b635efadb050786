import type { Dispatcher } from 'undici';
import { certificateErrorOf } from './certificate-errors.js';
import { proxyErrorOf } from './proxy-errors.js';
import type { ProxySettings } from './proxy-settings.js';

/**
 * An undici interceptor for the CLI's requests: a failure on the way to a server becomes an error
 * that names the host and what fixes it: a refused certificate a CertificateError (`--ca-file`,
 * `NODE_EXTRA_CA_CERTS`, a renewed certificate; never turning verification off), a proxy that
 * cannot be reached or refuses the request a ProxyError. Everything else passes untouched.
 * It serves the npm package's agents (undici 7: handlers with `onRequestStart`) and Node's own
 * (undici 6 in Node 20 and 22: the older handler callbacks).
 */
export function outboundErrors(proxies: ProxySettings): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function outboundErrorsDispatch(options, handler) {
      const words = (error: Error) => wordsFor(error, originOf(options.origin), proxies);
      return dispatch(
        options,
        'onRequestStart' in handler
          ? new OutboundErrorHandler(handler, words)
          : new LegacyOutboundErrorHandler(handler as LegacyHandler, words),
      );
    };
}

/** The error a user reads for `error` on the way to `origin`: a CertificateError, a ProxyError, or `error` itself. */
function wordsFor(error: Error, origin: URL | undefined, proxies: ProxySettings): Error {
  if (origin === undefined) return error;
  return certificateErrorOf(error, origin.host) ?? proxyErrorOf(error, { origin, proxies }) ?? error;
}

function originOf(origin: Dispatcher.DispatchOptions['origin']): URL | undefined {
  try {
    return origin === undefined ? undefined : new URL(origin);
  } catch {
    return undefined;
  }
}

type Words = (error: Error) => Error;

/** Passes every callback on; rewrites a certificate or proxy failure. */
class OutboundErrorHandler implements Dispatcher.DispatchHandler {
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #words: Words;

  constructor(handler: Dispatcher.DispatchHandler, words: Words) {
    this.#handler = handler;
    this.#words = words;
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
    this.#handler.onResponseError?.(controller, this.#words(error));
  }
}

/** The callbacks of undici 6's handlers (Node's own agent in Node 20 and 22). */
interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: object): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onBodySent?(chunk: unknown, totalBytesSent?: number): void;
}

/** The same for undici 6's callbacks: each passed on, a failure rewritten. */
class LegacyOutboundErrorHandler implements LegacyHandler {
  readonly #handler: LegacyHandler;
  readonly #words: Words;

  constructor(handler: LegacyHandler, words: Words) {
    this.#handler = handler;
    this.#words = words;
  }

  onConnect(...args: Parameters<NonNullable<LegacyHandler['onConnect']>>): void {
    this.#handler.onConnect?.(...args);
  }

  onError(error: Error): void {
    this.#handler.onError?.(this.#words(error));
  }

  onUpgrade(...args: Parameters<NonNullable<LegacyHandler['onUpgrade']>>): void {
    this.#handler.onUpgrade?.(...args);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onHeaders(...args: Parameters<NonNullable<LegacyHandler['onHeaders']>>): boolean {
    return this.#handler.onHeaders?.(...args) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.#handler.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.#handler.onComplete?.(trailers);
  }

  onBodySent(...args: Parameters<NonNullable<LegacyHandler['onBodySent']>>): void {
    this.#handler.onBodySent?.(...args);
  }
}
