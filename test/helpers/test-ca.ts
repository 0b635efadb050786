// Certificate authorities of a test's own, made with openssl (as the bridge's TLS test makes its
// self-signed certificate): a CA, and certificates for 127.0.0.1 it signs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A CA: its certificate (PEM, and the file a flag or NODE_EXTRA_CA_CERTS names) and what it signs. */
export interface TestCa {
  readonly certPath: string;
  readonly certPem: string;
  /** A certificate for 127.0.0.1 (and localhost) signed by this CA, with its key. */
  issue(name: string): { readonly cert: string; readonly key: string };
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** Makes a CA named `name` in a temporary folder, removed after the test. */
export function makeTestCa(t: TestContext, name: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), `lifeline-ca-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  // EC keys: fast to make, accepted everywhere.
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...key, '-days', '1', '-subj', `/CN=${name} test CA`, '-keyout', caKey, '-out', caCert]);
  let serial = 0;
  return {
    certPath: caCert,
    certPem: readFileSync(caCert, 'utf8'),
    issue(leaf) {
      serial += 1;
      const base = join(dir, `${leaf}-${serial}`);
      writeFileSync(`${base}.ext`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
      openssl(['req', '-new', ...key, '-subj', `/CN=${leaf}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
      openssl([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-set_serial',
        String(serial),
        '-days',
        '1',
        '-extfile',
        `${base}.ext`,
        '-out',
        `${base}.pem`,
      ]);
      return { cert: readFileSync(`${base}.pem`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
    },
  };
}
