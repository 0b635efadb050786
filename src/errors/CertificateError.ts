import { LifelineError } from './LifelineError.js';

/**
 * A server's TLS certificate was not accepted: its CA is not trusted (a proxy that inspects TLS, a
 * private CA), it has expired, or it was made for another host. The message names the host, the
 * reason and what fixes it; verification is never the thing to turn off, so it never says to.
 */
export class CertificateError extends LifelineError<'CERTIFICATE_NOT_ACCEPTED'> {
  override name = 'CertificateError';
  /** The host whose certificate was refused, e.g. `mcp.example.com:443`. */
  readonly host: string;
  /** Node's code for the reason, e.g. `SELF_SIGNED_CERT_IN_CHAIN`. */
  readonly reason: string;

  constructor(details: { readonly host: string; readonly reason: string; readonly message: string }, options?: { cause?: unknown }) {
    super('CERTIFICATE_NOT_ACCEPTED', details.message, options);
    this.host = details.host;
    this.reason = details.reason;
  }
}
