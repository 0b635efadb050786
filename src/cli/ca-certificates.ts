import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UsageError } from './usage-error.js';

// node:crypto and node:tls are loaded when a CA is at hand, not when every command parses its
// flags: they cost tens of milliseconds at startup, before the CLI handles Ctrl-C.
const load = createRequire(import.meta.url);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of a `--ca-file` (serve's `caFile`), PEM, one or many; a UsageError naming the
 * file when it cannot be read, holds none, or holds one that does not parse.
 */
export function readCaFile(path: string, where = '--ca-file'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${where} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) throw new UsageError(`${where} ${path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  const { X509Certificate } = load('node:crypto') as typeof import('node:crypto');
  certificates.forEach((pem, index) => {
    try {
      new X509Certificate(pem);
    } catch (error) {
      throw new UsageError(`${where} ${path}: certificate ${index + 1} does not parse (${(error as Error).message})`);
    }
  });
  return certificates;
}

/**
 * What TLS trusts when a command adds CAs: Node's own list with the extra ones. Giving TLS a `ca`
 * replaces Node's list, so the list is rebuilt: Node's bundled CAs and `NODE_EXTRA_CA_CERTS` (Node 20
 * reads that file only for its default list), or `tls.getCACertificates('default')` where Node has it.
 */
export function trustedWith(extra: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const tls = load('node:tls') as typeof import('node:tls');
  const current = (tls as { getCACertificates?: (kind: 'default') => string[] }).getCACertificates;
  const defaults = current === undefined ? [...tls.rootCertificates, ...extraCertsOf(env)] : current('default');
  return [...defaults, ...extra];
}

/** The certificates `NODE_EXTRA_CA_CERTS` names; none when it is unset or unreadable (Node has warned at startup). */
function extraCertsOf(env: NodeJS.ProcessEnv): string[] {
  const path = env['NODE_EXTRA_CA_CERTS'];
  if (!path) return [];
  try {
    return readFileSync(path, 'utf8').match(PEM_CERTIFICATE) ?? [];
  } catch {
    return [];
  }
}
