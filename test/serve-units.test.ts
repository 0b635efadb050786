// The gateway's pure parts: sealed session ids and key rotation, key and token files, the
// Host/Origin policy, and `serve`'s command line and config file.
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { parseServeCommand } from '../src/cli/serve-args.js';
import { UsageError } from '../src/cli/usage-error.js';
import { parseCallerTokens } from '../src/gateway/caller-credentials.js';
import { createEndedSessions } from '../src/gateway/ended-sessions.js';
import { startGateway } from '../src/gateway/gateway.js';
import { createMemoryStore } from '../src/gateway/memory-store.js';
import { createOriginPolicy } from '../src/gateway/origin-policy.js';
import type { SessionStore, StoreWatcher } from '../src/gateway/session-store.js';
import { createSessionTokens, parseSessionKeys, TokenTooLargeError } from '../src/gateway/session-token.js';
import { sharedDeadline } from '../src/gateway/shared-deadline.js';
import { createStoreOutage, guardStore } from '../src/gateway/store-outage.js';
import { tempFile } from './helpers/gateway.js';

const CLAIMS = {
  sid: 'k3y',
  initializeParams: { protocolVersion: '2025-06-18', clientInfo: { name: 'host', version: '1' } },
  issuedAt: 42,
};
const ALICE = { upstream: 'jira', caller: 'alice' };

/** What a session id carries once decrypted with `key` for `binding` (its layout: format, key id, IV, tag, ciphertext). */
function plaintextOf(token: string, key: Buffer, binding: { upstream: string; caller: string }): Buffer | undefined {
  const bytes = Buffer.from(token, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(5, 17));
  decipher.setAAD(Buffer.from(`mcp-lifeline session v1\0${binding.upstream}\0${binding.caller}`));
  decipher.setAuthTag(bytes.subarray(17, 33));
  return Buffer.concat([decipher.update(bytes.subarray(33)), decipher.final()]);
}

describe('session ids', () => {
  it('open only for the caller and upstream they were sealed for, and not once altered', () => {
    const tokens = createSessionTokens([randomBytes(32)]);
    const token = tokens.seal(CLAIMS, ALICE);
    assert.match(token, /^[A-Za-z0-9_-]+$/, 'visible ASCII, as the spec requires of session ids');
    assert.ok(!token.includes('host'), 'opaque');
    assert.deepEqual(tokens.open(token, ALICE), CLAIMS);
    assert.equal(tokens.open(token, { ...ALICE, caller: 'bob' }), undefined);
    assert.equal(tokens.open(token, { ...ALICE, upstream: 'github' }), undefined);
    const altered = `${token.slice(0, 40)}${token[40] === 'A' ? 'B' : 'A'}${token.slice(41)}`;
    assert.equal(tokens.open(altered, ALICE), undefined);
    assert.equal(tokens.open('not-a-token', ALICE), undefined);
    assert.equal(createSessionTokens([randomBytes(32)]).open(token, ALICE), undefined, 'another key does not open it');
  });

  it('rotate keys: the newest seals, every listed key opens', () => {
    const [old, fresh] = [randomBytes(32), randomBytes(32)];
    const before = createSessionTokens([old]).seal(CLAIMS, ALICE);
    const rotated = createSessionTokens([fresh, old]);
    assert.deepEqual(rotated.open(before, ALICE), CLAIMS, 'sessions sealed with the old key live on');
    const after = rotated.seal(CLAIMS, ALICE);
    assert.deepEqual(createSessionTokens([fresh]).open(after, ALICE), CLAIMS, 'new sessions use the new key');
    assert.equal(createSessionTokens([fresh]).open(before, ALICE), undefined, 'dropping the old key retires its sessions');
  });

  it('open on another replica (same key, nothing cached), small claims and large', () => {
    const key = randomBytes(32);
    const large = { ...CLAIMS, initializeParams: { clientInfo: { name: 'client '.repeat(200), version: '1' } } };
    for (const claims of [CLAIMS, large]) {
      const token = createSessionTokens([key]).seal(claims, ALICE);
      const replica = createSessionTokens([key]);
      assert.deepEqual(replica.open(token, ALICE), claims);
      assert.equal(replica.open(token, { ...ALICE, caller: 'bob' }), undefined, 'bound to its caller on every replica');
    }
  });

  it('small claims are sealed as one stored deflate block, which a release that inflates every id opens', () => {
    const key = randomBytes(32);
    const large = { ...CLAIMS, initializeParams: { clientInfo: { name: 'client '.repeat(200), version: '1' } } };
    const [small, deflated] = [CLAIMS, large].map((claims) => plaintextOf(createSessionTokens([key]).seal(claims, ALICE), key, ALICE));
    // RFC 1951 §3.2.4: BFINAL 1, BTYPE 00, then LEN and NLEN, then the bytes as they are (no zlib context to seal them).
    const json = Buffer.from(JSON.stringify([CLAIMS.sid, CLAIMS.issuedAt, CLAIMS.initializeParams]));
    assert.deepEqual(
      small?.subarray(0, 5),
      Buffer.from([1, json.length & 0xff, json.length >> 8, ~json.length & 0xff, (~json.length >> 8) & 0xff]),
    );
    // What the previous release does with every id: inflate it.
    assert.deepEqual(inflateRawSync(small as Buffer), json);
    const largeJson = JSON.stringify([large.sid, large.issuedAt, large.initializeParams]);
    assert.equal(inflateRawSync(deflated as Buffer).toString(), largeJson);
    assert.ok((deflated?.length ?? Infinity) < largeJson.length / 4, 'larger claims are still deflated');
  });

  it('ids the previous release sealed (every one deflated by zlib) still open', () => {
    const key = Buffer.from('a fixed test key, never a secret');
    const sealedBefore =
      'AbXx0nc7bgwJq7FJcIPiYY7ZHJJ_q3SUCheyZvUb7TqmA0M6EbITYv_Uo2TkJmDElRwuZ3UXJPY3cRgQQIXr2MhezPHqJ2onxzjwT1rIwTFBz4rpZaOeZyqFcX5FfHnM5fZt_1okP-L6NbNwf7rSdvHM';
    assert.deepEqual(createSessionTokens([key]).open(sealedBefore, ALICE), CLAIMS);
    assert.equal(createSessionTokens([key]).open(sealedBefore, { ...ALICE, caller: 'bob' }), undefined);
  });

  it('open only in their one canonical spelling', () => {
    const tokens = createSessionTokens([randomBytes(32)]);
    const token = tokens.seal(CLAIMS, ALICE);
    const standard = token.replaceAll('-', '+').replaceAll('_', '/');
    for (const spelling of [`${token}=`, `${token}==`, ` ${token}`, standard === token ? `${token}.` : standard]) {
      assert.equal(tokens.open(spelling, ALICE), undefined, spelling);
    }
    assert.deepEqual(tokens.open(token, ALICE), CLAIMS);
  });

  it('refuse initialize params of more than 64 KiB, however well they compress', () => {
    const tokens = createSessionTokens([randomBytes(32)]);
    const padded = { ...CLAIMS, initializeParams: { clientInfo: { name: 'a'.repeat(70_000), version: '1' } } };
    assert.throws(
      () => tokens.seal(padded, ALICE),
      (error: Error) => error instanceof TokenTooLargeError && /at most 65536/.test(error.message),
    );
  });

  it('refuse initialize params too large for a header', () => {
    const tokens = createSessionTokens([randomBytes(32)]);
    const huge = { ...CLAIMS, initializeParams: { blob: randomBytes(8000).toString('base64') } };
    assert.throws(() => tokens.seal(huge, ALICE), TokenTooLargeError);
  });

  it('a sealer refuses at once what cannot fit, and seals later only what surely fits', () => {
    const tokens = createSessionTokens([randomBytes(32)]);
    assert.throws(
      () => tokens.sealer({ ...CLAIMS, initializeParams: { blob: randomBytes(8000).toString('base64') } }, ALICE),
      TokenTooLargeError,
    );
    const later = tokens.sealer(CLAIMS, ALICE);
    assert.deepEqual(tokens.open(later(), ALICE), CLAIMS);
    // Around the bound, with params that do not compress: either refused at once, or sealed when asked.
    for (let bytes = 2000; bytes <= 3400; bytes += 20) {
      const claims = { ...CLAIMS, initializeParams: { blob: randomBytes(bytes).toString('latin1') } };
      let seal: () => string;
      try {
        seal = tokens.sealer(claims, ALICE);
      } catch (error) {
        assert.ok(error instanceof TokenTooLargeError, String(error));
        continue;
      }
      assert.deepEqual(tokens.open(seal(), ALICE), claims, `${bytes} bytes`);
    }
  });

  it('key files: base64 or hex, newest first; a bad line is named, its content never shown', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    assert.deepEqual(parseSessionKeys(`# rotated 2026-11\n${a.toString('base64')}\n\n${b.toString('hex')}\n`, 'keys'), [a, b]);
    assert.throws(
      () => parseSessionKeys('c2VjcmV0LXRvby1zaG9ydA==\n', 'keys'),
      (error: Error) => error.message === 'keys, line 1: not a 32-byte key (expected 44 base64 or 64 hex characters)',
    );
    assert.throws(() => parseSessionKeys('# nothing\n', 'keys'), /no key found/);
  });
});

describe('ended sessions: when a replica may answer without reading the store', () => {
  /** A memory store posing as shared, whose watch the test drives, counting tombstone reads. */
  function watchedStore() {
    const memory = createMemoryStore({ idleTtlMs: 60_000, maxRecords: 100 });
    const state = { reads: 0, watcher: undefined as StoreWatcher | undefined };
    const store: SessionStore = {
      ...memory,
      shared: true,
      isEnded: (key) => {
        state.reads += 1;
        return memory.isEnded(key);
      },
      watch: (watcher) => {
        state.watcher = watcher;
        return () => {};
      },
    };
    return { store, state, memory };
  }

  it('reads while not listening; trusts what it verified while listening; forgets it all when listening starts again', async () => {
    const { store, state, memory } = watchedStore();
    const ended = createEndedSessions(store, { tombstoneMs: 60_000, maxEntries: 100 });
    const gone: string[] = [];
    ended.onEnded((key) => gone.push(key));
    const steps: [string, () => unknown, boolean, number][] = [
      ['not listening: read', () => undefined, false, 1],
      ['still not listening: read again', () => undefined, false, 2],
      ['listening: read once to verify', () => state.watcher?.listening(true), false, 3],
      ['verified: no read', () => undefined, false, 3],
      ['deaf: read', () => state.watcher?.listening(false, new Error('silent')), false, 4],
      ['listening again: verified before counts no more', () => state.watcher?.listening(true), false, 5],
      ['verified again: no read', () => undefined, false, 5],
      ['ended elsewhere, heard: ended, no read', () => state.watcher?.ended('u/a'), true, 5],
    ];
    for (const [what, transition, expected, reads] of steps) {
      await transition();
      assert.equal(await ended.isEnded('u/a'), expected, what);
      assert.equal(state.reads, reads, what);
    }
    assert.deepEqual(gone, ['u/a'], 'listeners hear of an end once');
    await memory.end('u/b', 60_000);
    assert.equal(await ended.isEnded('u/b'), true, 'an end not heard of is read from the store');
    ended.opened('u/c');
    assert.equal(await ended.isEnded('u/c'), false);
    assert.equal(state.reads, 6, 'a session opened here while listening needs no read');
  });
});

describe('caller tokens', () => {
  it('name callers, or fingerprint them; refuse short tokens', () => {
    const callers = parseCallerTokens('alice 0123456789abcdef-alice\n# ci\n0123456789abcdef-ci\n', 'tokens');
    assert.equal(callers.size, 2);
    assert.equal(callers.identify('0123456789abcdef-alice'), 'alice');
    assert.match(callers.identify('0123456789abcdef-ci') ?? '', /^caller-[0-9a-f]{8}$/);
    assert.equal(callers.identify('0123456789abcdef-nobody'), undefined);
    assert.throws(() => parseCallerTokens('short\n', 'tokens'), /tokens, line 1: the token is shorter than 16 characters/);
  });
});

describe('Host and Origin policy', () => {
  it('on loopback: only loopback names on the bound port, plus the allowed ones', () => {
    const policy = createOriginPolicy({ bindHost: '127.0.0.1', port: 8787, allowedHosts: ['mcp.internal'], allowedOrigins: [] });
    for (const host of ['127.0.0.1:8787', 'localhost:8787', '[::1]:8787', 'mcp.internal', 'mcp.internal:443'])
      assert.ok(policy.hostAllowed(host), host);
    for (const host of ['evil.example.com', '127.0.0.1:9999', 'localhost', undefined]) assert.ok(!policy.hostAllowed(host), String(host));
    assert.ok(policy.originAllowed(undefined));
    assert.ok(policy.originAllowed('http://localhost:8787'));
    assert.ok(!policy.originAllowed('http://evil.example.com'));
    assert.ok(!policy.originAllowed('null'));
  });

  it('beyond loopback (credentials required): Host checked only when allowed hosts are given; listed origins pass', () => {
    const open = createOriginPolicy({ bindHost: '0.0.0.0', port: 8787, allowedHosts: [], allowedOrigins: ['https://app.example.com'] });
    assert.ok(open.hostAllowed('mcp-lifeline.default.svc:8787'));
    assert.ok(open.originAllowed('https://app.example.com'));
    assert.ok(!open.originAllowed('https://evil.example.com'));
    const strict = createOriginPolicy({ bindHost: '0.0.0.0', port: 8787, allowedHosts: ['gw.example.com'], allowedOrigins: [] });
    assert.ok(strict.hostAllowed('gw.example.com'));
    assert.ok(!strict.hostAllowed('other.example.com'));
  });
});

describe('serve command line and config file', () => {
  it('defaults; several URLs with names; host names as default names, made unique', () => {
    const one = parseServeCommand(['https://mcp.example.com/mcp']);
    assert.equal(one.kind, 'serve');
    assert.deepEqual(
      [one.host, one.port, one.store, one.maxBodyBytes, one.sessionIdleTtlMs],
      ['127.0.0.1', 8787, 'memory', 4194304, 86_400_000],
    );
    assert.equal(one.upstreams[0]?.name, 'mcp.example.com');
    const two = parseServeCommand([
      'https://a.example/mcp',
      'https://a.example/other',
      '--name',
      'first',
      '--session-ttl',
      '30m',
      '--max-body',
      '512k',
    ]);
    assert.deepEqual(
      two.upstreams.map((upstream) => upstream.name),
      ['first', 'a.example'],
    );
    assert.equal(two.sessionIdleTtlMs, 1_800_000);
    assert.equal(two.maxBodyBytes, 524_288);
    assert.deepEqual(
      parseServeCommand(['https://h/mcp', 'https://h/mcp2']).upstreams.map((upstream) => upstream.name),
      ['h', 'h-2'],
    );
  });

  it('--protocol/--transport: 2025 over HTTP is the pass-through; anything else goes through the era adapters', () => {
    assert.equal(parseServeCommand(['https://x/mcp']).upstreams[0]?.era, undefined);
    assert.equal(parseServeCommand(['https://x/mcp', '--protocol', '2025', '--transport', 'http']).upstreams[0]?.era, undefined);
    assert.deepEqual(parseServeCommand(['https://x/sse', '--transport', 'sse']).upstreams[0]?.era, { protocol: 'auto', transport: 'sse' });
    assert.deepEqual(parseServeCommand(['https://x/mcp', '--protocol', 'auto']).upstreams[0]?.era, { protocol: 'auto', transport: 'auto' });
    assert.throws(() => parseServeCommand(['https://x/mcp', '--protocol', '2026', '--transport', 'sse']), /no HTTP\+SSE transport/);
  });

  it('the bounds of issue 16: message size, connections, timeouts, the metrics listener, the store timeout', () => {
    const defaults = parseServeCommand(['https://x/mcp']);
    assert.deepEqual(
      [
        defaults.maxMessageBytes,
        defaults.headersTimeoutMs,
        defaults.idleTimeoutMs,
        defaults.bodyTimeoutMs,
        defaults.metricsPort,
        defaults.storeTimeoutMs,
      ],
      [8 * 1024 * 1024, 30_000, 5_000, 30_000, undefined, 2000],
    );
    const given = parseServeCommand([
      'https://x/mcp',
      ...['--max-message-size', '512k', '--max-connections', '300', '--max-connections-per-address', '20'],
      ...['--headers-timeout', '2s', '--idle-timeout', '500ms', '--body-timeout', '10', '--store-timeout', '750ms'],
      ...['--metrics-port', '9464', '--metrics-host', '0.0.0.0'],
    ]);
    assert.deepEqual(
      [given.maxMessageBytes, given.maxConnections, given.maxConnectionsPerAddress, given.headersTimeoutMs, given.idleTimeoutMs],
      [524_288, 300, 20, 2000, 500],
    );
    assert.deepEqual([given.bodyTimeoutMs, given.storeTimeoutMs, given.metricsPort, given.metricsHost], [10_000, 750, 9464, '0.0.0.0']);
    const file = tempFile(
      'bounds.yaml',
      [
        'upstreams: [{ url: "https://x/mcp" }]',
        'limits: { maxMessageSize: 1m, maxConnections: 64, maxConnectionsPerAddress: 8 }',
        'headersTimeout: 5s',
        'idleTimeout: 2s',
        'bodyTimeout: 20s',
        'storeTimeout: 1s',
        'metricsPort: 9100',
        'metricsHost: 127.0.0.2',
      ].join('\n'),
    );
    const config = parseServeCommand(['--config', file]);
    assert.deepEqual(
      [config.maxMessageBytes, config.maxConnections, config.maxConnectionsPerAddress, config.headersTimeoutMs, config.idleTimeoutMs],
      [1_048_576, 64, 8, 5000, 2000],
    );
    assert.deepEqual(
      [config.bodyTimeoutMs, config.storeTimeoutMs, config.metricsPort, config.metricsHost],
      [20_000, 1000, 9100, '127.0.0.2'],
    );
    assert.throws(() => parseServeCommand(['https://x/mcp', '--max-connections', '0']), /--max-connections must be an integer from 1/);
    assert.throws(() => parseServeCommand(['https://x/mcp', '--max-message-size', 'huge']), /--max-message-size must be a size/);
    assert.throws(() => parseServeCommand(['https://x/mcp', '--headers-timeout', 'never']), /--headers-timeout must be a duration/);
  });

  it('mistakes are usage errors that name the flag', () => {
    for (const [argv, message] of [
      [[], /missing <url>/],
      [['ftp://x/mcp'], /only http and https/],
      [['https://x/mcp', '--port', 'eighty'], /--port must be an integer/],
      [['https://x/mcp', '--session-ttl', 'soon'], /--session-ttl must be a duration/],
      [['https://x/mcp', '--frobnicate'], /serve: Unknown option '--frobnicate'/],
      [['https://x/mcp', '--name', 'a', '--name', 'b'], /2 --name for 1 URL/],
    ] as const) {
      assert.throws(
        () => parseServeCommand(argv),
        (error: Error) => error instanceof UsageError && message.test(error.message),
      );
    }
  });

  it('a YAML config file: several upstreams, ${VAR} in headers and the store URL, flags win', () => {
    const file = tempFile(
      'gateway.yaml',
      [
        'port: 9000',
        'store: redis://:${REDIS_PASSWORD}@redis:6379',
        'sessionTtl: 2h',
        'limits: { maxBody: 1m, maxSessionsPerCaller: 5 }',
        'upstreams:',
        '  - name: jira',
        '    url: https://mcp.atlassian.example/mcp',
        '    headers: { Authorization: "Token ${JIRA_TOKEN}" }',
        '  - url: https://mcp.github.example/mcp',
        '    forwardHeaders: [Authorization]',
      ].join('\n'),
    );
    const env = { JIRA_TOKEN: 'j1', REDIS_PASSWORD: 'pw' };
    const command = parseServeCommand(['--config', file, '--port', '9100'], env);
    assert.equal(command.port, 9100);
    assert.equal(command.store, 'redis://:pw@redis:6379');
    assert.equal(command.sessionIdleTtlMs, 7_200_000);
    assert.equal(command.maxBodyBytes, 1_048_576);
    assert.equal(command.maxSessionsPerCaller, 5);
    assert.deepEqual(
      command.upstreams.map((upstream) => [upstream.name, upstream.headers, upstream.forwardHeaders]),
      [
        ['jira', { Authorization: 'Token j1' }, []],
        ['mcp.github.example', {}, ['authorization']],
      ],
    );
    assert.throws(() => parseServeCommand(['--config', file], {}), /environment variable (REDIS_PASSWORD|JIRA_TOKEN) is not set/);
  });

  it('config mistakes name the file and the key', () => {
    const typo = tempFile('typo.json', JSON.stringify({ upstreams: [{ url: 'https://x/mcp', header: {} }] }));
    assert.throws(() => parseServeCommand(['--config', typo]), /upstreams\[0\]: unknown key "header"/);
    const machine = tempFile('oauth.json', JSON.stringify({ upstreams: [{ url: 'https://x/mcp', oauth: { clientCredentials: true } }] }));
    assert.throws(() => parseServeCommand(['--config', machine], {}), /needs MCP_LIFELINE_CLIENT_ID and MCP_LIFELINE_CLIENT_SECRET/);
    const both = tempFile(
      'both.json',
      JSON.stringify({ upstreams: [{ url: 'https://x/mcp', oauth: true, headers: { Authorization: 'Bearer x' } }] }),
    );
    assert.throws(() => parseServeCommand(['--config', both]), /"oauth" and an Authorization header exclude each other/);
    const stored = parseServeCommand([
      '--config',
      tempFile('stored.json', JSON.stringify({ upstreams: [{ url: 'https://x/mcp', oauth: true }] })),
    ]);
    assert.equal(stored.upstreams[0]?.oauth?.flow, 'browser');
    assert.equal(stored.upstreams[0]?.oauth?.openBrowser, false);
    assert.throws(() => parseServeCommand(['--config', '/nonexistent/gateway.yaml']), /cannot read it \(ENOENT\)/);
  });
});

describe('shared deadlines (what bounds each DELETE of an upstream session)', () => {
  it('waits that begin within the slack share one signal; each aborts with a TimeoutError no sooner than the bound after it began', async () => {
    const deadline = sharedDeadline(150, 40);
    const [first, second] = [deadline(), deadline()];
    assert.equal(first, second, 'one signal for the waits of one slack window');
    const began = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const third = deadline();
    const thirdBegan = performance.now();
    assert.notEqual(third, first, 'a fresh one once the window is over');
    const abortedAt = (signal: AbortSignal) =>
      new Promise<number>((resolve) => signal.addEventListener('abort', () => resolve(performance.now()), { once: true }));
    // The deadlines' timers let the process exit: this one holds it up meanwhile.
    const holdUp = setTimeout(() => {}, 2000);
    const [firstAt, thirdAt] = await Promise.all([abortedAt(first), abortedAt(third)]);
    clearTimeout(holdUp);
    assert.ok(firstAt - began >= 150 - 1 && thirdAt - thirdBegan >= 150 - 1, 'never sooner than the bound');
    assert.ok(firstAt - began < 150 + 40 + 500, 'and not much later');
    assert.equal((first.reason as Error).name, 'TimeoutError');
  });
});

describe('the store outage log (one error and one recovery per outage)', () => {
  it("the watch connection back while the store's own is not: no recovery logged until a store call answers", async (t) => {
    let watcher: StoreWatcher | undefined;
    let pingFails = false;
    const memory = createMemoryStore({ idleTtlMs: 60_000, maxRecords: 100 });
    const store: SessionStore = {
      ...memory,
      watch(heard) {
        watcher = heard;
        return () => {};
      },
      ping: () => (pingFails ? Promise.reject(new Error('The client is offline')) : Promise.resolve()),
    };
    const lines: string[] = [];
    const log = {
      error: (m: string) => lines.push(`error ${m}`),
      warn: () => {},
      info: (m: string) => lines.push(`info ${m}`),
      debug: () => {},
    };
    const gateway = await startGateway({ port: 0, upstreams: [{ name: 'u', url: new URL('http://127.0.0.1:9/mcp') }], store, log });
    t.after(() => gateway.shutdown('test over'));
    assert.ok(watcher !== undefined, 'the gateway watches the store');
    const logged = (what: RegExp) => lines.filter((line) => what.test(line)).length;

    watcher.listening(true);
    await new Promise((resolve) => setImmediate(resolve));
    watcher.listening(false, new Error('Socket closed unexpectedly'));
    assert.equal(logged(/session store unreachable: Socket closed unexpectedly/), 1);
    // The watch connection reconnects first; the store's command connection is still offline.
    pingFails = true;
    watcher.listening(true);
    assert.equal((await fetch(`${gateway.origin}/readyz`)).status, 503);
    assert.equal(logged(/reachable again/), 0, lines.join('\n'));
    pingFails = false;
    assert.equal((await fetch(`${gateway.origin}/readyz`)).status, 200);
    assert.equal(logged(/reachable again/), 1, lines.join('\n'));
    assert.equal(logged(/unreachable/), 1, lines.join('\n'));
  });
});

describe('the store as the routes use it (guarded against outages)', () => {
  it("the memory store's ended sessions are told at once, without a promise, through the guard too", async () => {
    const log = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
    const memory = createMemoryStore({ idleTtlMs: 60_000, maxRecords: 100 });
    const store = guardStore(memory, createStoreOutage(memory, log));
    const ended = createEndedSessions(store, { tombstoneMs: 60_000, maxEntries: 100 });
    assert.equal(ended.isEnded('u/a'), false, 'a session not ended: false, not a promise of it');
    await memory.end('u/b', 60_000);
    assert.equal(ended.isEnded('u/b'), true, 'ended through another way in: true at once');
  });
});
