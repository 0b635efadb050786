import { LifelineError } from './LifelineError.js';

/**
 * The proxy between mcp-lifeline and a server failed the request: it could not be reached, or it
 * refused to carry the request (HTTP 407 for credentials, 403 for its rules, 502 when it could not
 * reach the server). The message names the proxy (never its credentials), the host and what to do.
 */
export class ProxyError extends LifelineError<'PROXY_FAILED'> {
  override name = 'ProxyError';
  /** The proxy as logs name it: `http://proxy.example.com:3128 (HTTPS_PROXY)`. */
  readonly proxy: string;
  /** The server the request was for, e.g. `mcp.example.com:443`. */
  readonly host: string;
  /** The proxy's answer to the tunnel or the request, when it answered. */
  readonly status: number | undefined;

  constructor(
    details: { readonly proxy: string; readonly host: string; readonly status: number | undefined; readonly message: string },
    options?: { cause?: unknown },
  ) {
    super('PROXY_FAILED', details.message, options);
    this.proxy = details.proxy;
    this.host = details.host;
    this.status = details.status;
  }
}
