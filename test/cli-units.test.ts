// Pure pieces of the CLI: argument parsing, headers, error wording.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand } from '../src/cli/args.js';
import { collectHeaders } from '../src/cli/headers.js';
import { parseServeCommand } from '../src/cli/serve-args.js';
import { nearest } from '../src/cli/suggest.js';
import { networkErrorText } from '../src/errors/network-error-text.js';
import { httpErrorText } from '../src/upstream/http-error-text.js';
import { tempFile } from './helpers/gateway.js';

describe('parseCommand', () => {
  it('bridge defaults and options', () => {
    const command = parseCommand([
      'https://mcp.example.com/mcp',
      '--header',
      'X-A: 1',
      '--timeout',
      '2.5',
      '--keepalive',
      '60',
      '--log-format',
      'json',
    ]);
    assert.equal(command.kind, 'bridge');
    if (command.kind !== 'bridge') return;
    assert.equal(command.url.href, 'https://mcp.example.com/mcp');
    assert.deepEqual(command.headers, { 'X-A': '1' });
    assert.equal(command.timeoutMs, 2500);
    assert.equal(command.keepAlive, 60_000);
    assert.equal(command.logLevel, 'info');
    assert.equal(command.logFormat, 'json');
  });

  it('--keepalive: seconds, auto, auto with a bound from probe --idle; anything else is a usage error', () => {
    const keepAlive = (value: string) => {
      const command = parseCommand(['https://mcp.example.com/mcp', '--keepalive', value]);
      return command.kind === 'bridge' ? command.keepAlive : undefined;
    };
    assert.equal(keepAlive('300'), 300_000);
    assert.equal(keepAlive('auto'), 'auto');
    assert.deepEqual(keepAlive('auto:15m'), { auto: true, initialBoundMs: 900_000 });
    assert.throws(() => keepAlive('sometimes'), /--keepalive must be a positive number of seconds/);
    assert.throws(() => keepAlive('auto:soon'), /--keepalive auto: must be a duration/);
  });

  it('probe with a bare --idle gets the 60-minute default; --idle=90s and steps parse', () => {
    const bare = parseCommand(['probe', 'http://127.0.0.1:1/mcp', '--idle']);
    assert.equal(bare.kind === 'probe' && bare.idle?.maxMs, 3_600_000);
    const custom = parseCommand(['probe', 'http://127.0.0.1:1/mcp', '--idle=90s', '--idle-steps', '1s,500ms,2m', '--json']);
    assert.ok(custom.kind === 'probe');
    if (custom.kind !== 'probe') return;
    assert.equal(custom.idle?.maxMs, 90_000);
    assert.deepEqual(custom.idle?.stepsMs, [1000, 500, 120_000]);
    assert.equal(custom.json, true);
  });

  it('demo options', () => {
    const command = parseCommand(['demo', '--duration', '2', '--interval', '10', '--drop-every', '5', '--without-lifeline']);
    assert.deepEqual(command, { kind: 'demo', durationMs: 2000, intervalMs: 10, dropEvery: 5, withoutLifeline: true, color: undefined });
  });

  it('names what is wrong', () => {
    assert.throws(() => parseCommand([]), /missing <url>/);
    assert.throws(() => parseCommand(['probe']), /probe: missing <url>/);
    assert.throws(() => parseCommand(['http://127.0.0.1/mcp', '--timeout=-1']), /--timeout must be a positive number of seconds, got "-1"/);
    assert.throws(() => parseCommand(['http://127.0.0.1/mcp', '--timeout', '-1']), /'--timeout' argument is ambiguous/);
    assert.throws(() => parseCommand(['probe', 'http://127.0.0.1/mcp', '--idle=soon']), /--idle must be a duration/);
    assert.throws(() => parseCommand(['http://127.0.0.1/mcp', 'extra']), /unexpected argument "extra"/);
  });
});

describe('collectHeaders', () => {
  it('expands ${VAR} from the environment and reads header files with comments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-headers-'));
    try {
      const file = join(dir, 'headers');
      writeFileSync(file, '# Atlassian\nAuthorization: Token ${TOKEN}\n\nX-Tenant: acme\n');
      const { headers, warnings } = collectHeaders(['X-Extra: a:b:c'], [file], { TOKEN: 't0k3n' });
      assert.deepEqual(headers, { Authorization: 'Token t0k3n', 'X-Tenant': 'acme', 'X-Extra': 'a:b:c' });
      assert.deepEqual(warnings, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('warns of a header left without its credential: empty, or ending in a scheme; names the header, never the value', () => {
    const warningsOf = (flags: string[], env: NodeJS.ProcessEnv = {}) => collectHeaders(flags, [], env).warnings;
    // A shell expanded an unset ${API_TOKEN} in double quotes: we get the scheme alone.
    const [shell] = warningsOf(['Authorization: Bearer ']);
    assert.match(shell ?? '', /^--header "Authorization: …": the value ends in the scheme "Bearer" with no credential after it/);
    assert.match(shell ?? '', /quote it in single quotes/);
    // A variable that expanded to blanks is named.
    const [blank] = warningsOf(['Authorization: Bearer ${API_TOKEN}'], { API_TOKEN: '  ' });
    assert.match(blank ?? '', /scheme "Bearer" with no credential after it \(it held \$\{API_TOKEN\}\)/);
    assert.match(warningsOf(['X-Api-Key:'])[0] ?? '', /^--header "X-Api-Key: …": the value is empty/);
    assert.match(warningsOf(['authorization: basic'])[0] ?? '', /scheme "Basic"/);
    // Whatever comes before the scheme stays out of the warning.
    const [custom] = warningsOf(['X-Auth: s3cr3t-part Token']);
    assert.match(custom ?? '', /scheme "Token"/);
    assert.ok(!custom?.includes('s3cr3t-part'));
    // A credential, or a bare key, is no reason to warn.
    assert.deepEqual(warningsOf(['Authorization: Bearer abc', 'X-Api-Key: sk-123', 'Authorization: sk-123', 'X-Mode: tokenless']), []);
  });

  it('never echoes a value in its errors', () => {
    assert.throws(
      () => collectHeaders(['Authorization: Bearer ${MISSING_VAR}'], [], {}),
      (error: Error) => /MISSING_VAR is not set/.test(error.message) && !error.message.includes('Bearer'),
    );
  });
});

describe('commands, help and corrections', () => {
  it('every command answers --help, and help [command] names the same texts', () => {
    const topic = (argv: string[]) => {
      const command = parseCommand(argv);
      return command.kind === 'help' ? command.topic : command.kind;
    };
    assert.equal(topic(['--help']), 'general');
    assert.equal(topic(['-h']), 'general');
    assert.equal(topic(['help']), 'general');
    assert.equal(topic(['https://mcp.example.com/mcp', '--help']), 'bridge');
    for (const command of ['probe', 'demo', 'login', 'status', 'logout']) {
      assert.equal(topic([command, '--help']), command);
      assert.equal(topic(['help', command]), command);
    }
    assert.equal(topic(['help', 'serve']), 'serve');
    assert.equal(topic(['version', '--help']), 'version');
    assert.equal(topic(['version']), 'version');
    assert.equal(topic(['--version']), 'version');
    assert.equal(topic(['-v']), 'version');
  });

  it('a mistyped command gets its correction; a word near none gets the list', () => {
    for (const [typed, meant] of [
      ['prob', 'probe'],
      ['serv', 'serve'],
      ['loign', 'login'],
      ['stauts', 'status'],
      ['logot', 'logout'],
      ['dmeo', 'demo'],
      ['versoin', 'version'],
    ]) {
      assert.throws(
        () => parseCommand([typed as string, 'https://mcp.example.com/mcp']),
        new RegExp(`unknown command "${typed}": did you mean \`${meant}\`\\?`),
      );
    }
    assert.throws(() => parseCommand(['help', 'prob']), /help: no command "prob": did you mean `probe`\?/);
    assert.throws(
      () => parseCommand(['atlassian']),
      /unknown command "atlassian": the commands are probe, demo, serve, login, status, logout, help, version; for the bridge, give an http\(s\) URL such as https:\/\/atlassian\/mcp/,
    );
    assert.throws(() => parseCommand(['probe', 'https://mcp.example.com/mcp', '--jsn']), /Unknown option '--jsn': did you mean --json\?/);
    assert.equal(nearest('x', ['probe', 'demo']), undefined);
    assert.equal(nearest('de', ['probe', 'demo']), undefined);
  });

  it('a URL without a scheme gets it: http on loopback, https elsewhere; a query is never echoed', () => {
    const meant = (text: string) => {
      try {
        parseCommand([text]);
      } catch (error) {
        return /did you mean (\S+)\?$/.exec((error as Error).message)?.[1];
      }
      return undefined;
    };
    assert.equal(meant('localhost:8080'), 'http://localhost:8080/');
    assert.equal(meant('localhost:8080/mcp'), 'http://localhost:8080/mcp');
    assert.equal(meant('127.0.0.1:3000/mcp'), 'http://127.0.0.1:3000/mcp');
    assert.equal(meant('[::1]:3000/mcp'), 'http://[::1]:3000/mcp');
    assert.equal(meant('mcp.example.com/mcp'), 'https://mcp.example.com/mcp');
    assert.equal(meant('mcp.example.com/mcp?token=s3cret'), 'https://mcp.example.com/mcp?…');
    assert.throws(
      () => parseCommand(['probe', 'localhost:8080/mcp']),
      /<url> has no scheme \(http:\/\/ or https:\/\/\): did you mean http:\/\/localhost:8080\/mcp\?/,
    );
    assert.throws(() => parseCommand(['ftp://example.com/mcp']), /only http and https URLs are supported, not ftp/);
  });

  it('with no argument, the message lists every command', () => {
    assert.throws(
      () => parseCommand([]),
      (error: Error) =>
        ['<url>', 'probe', 'demo', 'serve', 'login', 'status', 'logout', 'help', 'version'].every((word) =>
          error.message.includes(`mcp-lifeline ${word}`),
        ),
    );
  });

  it('--idle-steps without --idle is refused, not ignored', () => {
    assert.throws(
      () => parseCommand(['probe', 'https://mcp.example.com/mcp', '--idle-steps', '1s,2s']),
      /--idle-steps is used only with --idle/,
    );
  });
});

describe('serve config file', () => {
  it("an unset ${VAR} in a header is the file's problem, named by its key", () => {
    const config = tempFile(
      'gateway.yaml',
      'upstreams:\n  - url: https://mcp.example.com/mcp\n    headers: { X-Api-Key: "${ALPHA_KEY}" }\n',
    );
    assert.throws(
      () => parseServeCommand(['--config', config], {}),
      (error: Error) =>
        error.message === `--config ${config}: upstreams[0]: headers.X-Api-Key: environment variable ALPHA_KEY is not set` &&
        !error.message.includes('--header'),
    );
  });

  it('a header without its credential is warned about, naming the key and the variable', () => {
    const config = tempFile(
      'gateway.yaml',
      'upstreams:\n  - url: https://mcp.example.com/mcp\n    headers: { Authorization: "Bearer ${API_TOKEN}" }\n',
    );
    const command = parseServeCommand(['--config', config, '--header', 'X-Extra:'], { API_TOKEN: ' ' });
    assert.equal(command.warnings.length, 2);
    assert.match(command.warnings[0] ?? '', /^--header "X-Extra: …": the value is empty/);
    assert.match(
      command.warnings[1] ?? '',
      /upstreams\[0\]: headers\.Authorization: the value ends in the scheme "Bearer" with no credential after it \(it held \$\{API_TOKEN\}\)/,
    );
  });
});

describe('error wording', () => {
  it('network failures say what happened', () => {
    const dns = new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND mcp.example.com'), { code: 'ENOTFOUND', hostname: 'mcp.example.com' }),
    });
    assert.equal(networkErrorText(dns), 'host name not found: DNS lookup failed (mcp.example.com) (ENOTFOUND)');
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 9 }),
    });
    assert.equal(networkErrorText(refused), 'connection refused: the server is not listening (127.0.0.1:9) (ECONNREFUSED)');
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.equal(networkErrorText(timeout, 500), 'no answer within 500 ms');
  });

  it('HTTP errors carry a hint for the status, and an excerpt folded to one line', () => {
    const text = httpErrorText(401, '{"error":"invalid_token"}', 'https://mcp.example.com/mcp');
    assert.match(text, /^https:\/\/mcp\.example\.com\/mcp refused the request: HTTP 401 "\{"error":"invalid_token"\}"/);
    assert.match(text, /--header 'Authorization: Bearer \$\{TOKEN\}'/);
    assert.match(httpErrorText(403, 'Forbidden', 'u'), /HTTP 403 "Forbidden"/);
    assert.match(
      httpErrorText(404, '<html><body>Not\n Found</body></html>', 'u'),
      /^no MCP endpoint at u \(HTTP 404, "Not Found"\): check the path/,
    );
  });
});
