// The way out, read at startup (issue 19): which proxy each command uses (src/cli/proxy-settings.ts,
// as curl, npm and undici read the variables), what the startup log says of it (never its
// credentials), --ca-file's checks, serve's `proxy` and `caFile`, and a certificate refusal in words.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseCommand } from '../src/cli/args.js';
import { parseAuthCommand } from '../src/cli/auth-args.js';
import { certificateErrorOf } from '../src/cli/certificate-errors.js';
import { describeOutbound, proxyCredentials, resolveProxySettings } from '../src/cli/proxy-settings.js';
import { parseServeCommand } from '../src/cli/serve-args.js';
import { UsageError } from '../src/cli/usage-error.js';
import { parseProxyChoice } from '../src/cli/values.js';
import { isLifelineError } from '../src/errors/LifelineError.js';
import { networkErrorText } from '../src/errors/network-error-text.js';
import { tempFile } from './helpers/gateway.js';
import { makeTestCa } from './helpers/test-ca.js';

const ENV = { kind: 'env' } as const;
const proxyOf = (settings: ReturnType<typeof resolveProxySettings>) => ({
  https: settings.https && `${settings.https.url.href} ${settings.https.from}`,
  http: settings.http && `${settings.http.url.href} ${settings.http.from}`,
  noProxy: settings.noProxy,
});

describe('proxy settings: the environment as curl and npm read it', () => {
  const cases: [string, NodeJS.ProcessEnv, ReturnType<typeof proxyOf>][] = [
    ['nothing set: straight to every server', {}, { https: undefined, http: undefined, noProxy: '' }],
    [
      'HTTPS_PROXY for https:// only',
      { HTTPS_PROXY: 'http://p:3128' },
      { https: 'http://p:3128/ HTTPS_PROXY', http: undefined, noProxy: '' },
    ],
    [
      'HTTP_PROXY for both when HTTPS_PROXY is not set (npm, undici)',
      { HTTP_PROXY: 'http://p:3128', NO_PROXY: 'localhost' },
      { https: 'http://p:3128/ HTTP_PROXY', http: 'http://p:3128/ HTTP_PROXY', noProxy: 'localhost' },
    ],
    [
      'lower case first; a blank one counts as unset',
      { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2', http_proxy: ' ', HTTP_PROXY: 'http://up:3', no_proxy: '.corp' },
      { https: 'http://low:1/ https_proxy', http: 'http://up:3/ HTTP_PROXY', noProxy: '.corp' },
    ],
    [
      'a proxy without a scheme is http, as curl reads it',
      { HTTPS_PROXY: 'proxy.corp.invalid:8080' },
      { https: 'http://proxy.corp.invalid:8080/ HTTPS_PROXY', http: undefined, noProxy: '' },
    ],
  ];
  for (const [name, env, expected] of cases) {
    it(name, () => assert.deepEqual(proxyOf(resolveProxySettings(ENV, env)), expected));
  }

  it('--proxy off ignores the environment; --proxy URL takes both kinds, NO_PROXY still honoured', () => {
    const env = { HTTPS_PROXY: 'socks5://nope', NO_PROXY: '127.0.0.1' };
    assert.deepEqual(proxyOf(resolveProxySettings({ kind: 'off' }, env)), { https: undefined, http: undefined, noProxy: '' });
    const chosen = resolveProxySettings(parseProxyChoice('--proxy', 'http://u:p@gw:3128'), env);
    assert.deepEqual(proxyOf(chosen), { https: 'http://u:p@gw:3128/ --proxy', http: 'http://u:p@gw:3128/ --proxy', noProxy: '127.0.0.1' });
  });

  it('a variable or flag that holds no http(s) proxy is a usage error naming it, never echoing the value', () => {
    assert.throws(() => resolveProxySettings(ENV, { https_proxy: 'socks5://h:1' }), {
      name: 'UsageError',
      message: /^https_proxy: only http:\/\/ and https:\/\/ proxies are supported, not socks5:\/\/ \(--proxy off ignores/,
    });
    assert.throws(
      () => parseProxyChoice('--proxy', 'http://user:s3cret@[bad'),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^--proxy must be off, env or a proxy URL/);
        assert.ok(!error.message.includes('s3cret'));
        return true;
      },
    );
  });
});

describe('the startup log names the proxy, never its credentials', () => {
  it('origin and source only; the password (alone and as Proxy-Authorization carries it) is scrubbed', () => {
    const settings = resolveProxySettings(ENV, {
      HTTPS_PROXY: 'http://alice:pa%24%24word@proxy.corp.invalid:3128/',
      NO_PROXY: 'localhost,.internal',
    });
    const described = describeOutbound(settings, []);
    assert.equal(
      described?.text,
      'proxy http://proxy.corp.invalid:3128 (HTTPS_PROXY, credentials not shown) for https:// servers; none for NO_PROXY localhost,.internal',
    );
    assert.ok(!/alice|pa\$\$word|pa%24/.test(JSON.stringify(described)), JSON.stringify(described));
    assert.deepEqual(proxyCredentials(settings), ['pa$$word', Buffer.from('alice:pa$$word').toString('base64')]);
    assert.equal(describeOutbound(resolveProxySettings(ENV, {}), []), undefined, 'nothing to say');
  });
});

describe('--proxy and --ca-file on every command that sends requests', () => {
  it('the bridge, probe, login, logout and serve take them; serve reads proxy and caFile in its config file', (t) => {
    const ca = makeTestCa(t, 'units');
    const flags = ['--proxy', 'off', '--ca-file', ca.certPath];
    const url = 'https://mcp.example.com/mcp';
    for (const command of [parseCommand([url, ...flags]), parseCommand(['probe', url, ...flags])]) {
      assert.ok('network' in command);
      assert.equal(command.network.proxies.https, undefined);
      assert.equal(command.network.certificates.length, 1);
    }
    for (const kind of ['login', 'logout'] as const) {
      const command = parseAuthCommand(kind, [url, ...flags], {});
      assert.ok('network' in command);
      assert.deepEqual(command.network.caFiles, [ca.certPath]);
    }
    const config = tempFile('net.yaml', `proxy: http://gw.corp.invalid:3128\ncaFile: [${ca.certPath}]\nupstreams: [{ url: "${url}" }]\n`);
    t.after(() => rmSync(config, { force: true }));
    const served = parseServeCommand(['--config', config], {});
    assert.equal(served.network.proxies.https?.url.host, 'gw.corp.invalid:3128');
    assert.equal(served.network.proxies.https?.from, `--config ${config}: proxy`);
    assert.deepEqual(served.network.caFiles, [ca.certPath]);
    // A flag overrides the file's proxy; CA files add up.
    const overridden = parseServeCommand(['--config', config, '--proxy', 'off', '--ca-file', ca.certPath], {});
    assert.equal(overridden.network.proxies.https, undefined);
    assert.equal(overridden.network.certificates.length, 2);
  });

  it('--ca-file: a file without a PEM certificate, or with a broken one, is refused naming it', (t) => {
    const empty = tempFile('empty.pem', 'not a certificate\n');
    const broken = tempFile('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    t.after(() => {
      for (const file of [empty, broken]) rmSync(file, { force: true });
    });
    assert.throws(() => parseCommand(['https://h/mcp', '--ca-file', empty]), {
      message: /--ca-file \S+empty\.pem: no PEM certificate in it/,
    });
    assert.throws(() => parseCommand(['https://h/mcp', '--ca-file', broken]), {
      message: /--ca-file \S+broken\.pem: certificate 1 does not parse/,
    });
  });
});

describe('a refused certificate in words', () => {
  const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('an unknown CA: names the host, --ca-file and NODE_EXTRA_CA_CERTS; the wrapping by fetch does not hide it', () => {
    const error = certificateErrorOf(
      tlsError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'),
      'mcp.corp.invalid:443',
    );
    assert.ok(error && isLifelineError(error));
    assert.equal(error.code, 'CERTIFICATE_NOT_ACCEPTED');
    assert.equal(error.host, 'mcp.corp.invalid:443');
    const text = networkErrorText(new TypeError('fetch failed', { cause: error }));
    assert.match(
      text,
      /^TLS error: the certificate of mcp\.corp\.invalid:443 is not signed by a CA this machine trusts \(SELF_SIGNED_CERT_IN_CHAIN: /,
    );
    assert.match(text, /--ca-file PATH for this command, or NODE_EXTRA_CA_CERTS=PATH/);
  });

  it('expired, or made for another name: no CA fixes it, and none is suggested; never turning verification off', () => {
    const expired = certificateErrorOf(tlsError('CERT_HAS_EXPIRED', 'certificate has expired'), 'h:443');
    assert.match(expired?.message ?? '', /out of date \(CERT_HAS_EXPIRED: certificate has expired\): the server .* must renew it/);
    const other = certificateErrorOf(
      tlsError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      'h:443',
    );
    assert.match(other?.message ?? '', /made for other names/);
    for (const message of [expired?.message, other?.message]) assert.doesNotMatch(message ?? '', /--ca-file|REJECT_UNAUTHORIZED|verif/i);
    assert.equal(certificateErrorOf(tlsError('ECONNREFUSED', 'refused'), 'h:443'), undefined, 'other failures pass untouched');
  });
});
