// Pure pieces of the CLI: argument parsing, headers, error wording.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseCommand } from '../src/cli/args.js';
import { collectHeaders } from '../src/cli/headers.js';
import { networkErrorText } from '../src/errors/network-error-text.js';
import { httpErrorText } from '../src/upstream/http-error-text.js';

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
      const headers = collectHeaders(['X-Extra: a:b:c'], [file], { TOKEN: 't0k3n' });
      assert.deepEqual(headers, { Authorization: 'Token t0k3n', 'X-Tenant': 'acme', 'X-Extra': 'a:b:c' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never echoes a value in its errors', () => {
    assert.throws(
      () => collectHeaders(['Authorization: Bearer ${MISSING_VAR}'], [], {}),
      (error: Error) => /MISSING_VAR is not set/.test(error.message) && !error.message.includes('Bearer'),
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
