import { CertificateError } from '../errors/CertificateError.js';

/** Node's codes for a chain that ends at a CA this machine does not trust: a missing CA fixes them. */
const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/** The CertificateError for `error` when a certificate was refused, else undefined. */
export function certificateErrorOf(error: Error, host: string): CertificateError | undefined {
  const reason = (error as NodeJS.ErrnoException).code;
  if (typeof reason !== 'string' || !CERTIFICATE_CODE.test(reason)) return undefined;
  const said = `${reason}: ${error.message}`;
  let message: string;
  if (UNTRUSTED.has(reason)) {
    message =
      `TLS error: the certificate of ${host} is not signed by a CA this machine trusts (${said}). ` +
      'If a proxy on this network inspects TLS, or the server uses a private CA, trust that CA (PEM): ' +
      '--ca-file PATH for this command, or NODE_EXTRA_CA_CERTS=PATH in the environment';
  } else if (OUT_OF_DATE.has(reason)) {
    message =
      `TLS error: the certificate of ${host} is out of date (${said}): ` +
      "the server (or a proxy that inspects TLS) must renew it, or this machine's clock is wrong";
  } else if (reason === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message = `TLS error: the certificate ${host} presented was made for other names (${said}): use a name it covers`;
  } else {
    message = `TLS error: the certificate of ${host} was not accepted (${said})`;
  }
  return new CertificateError({ host, reason, message }, { cause: error });
}
