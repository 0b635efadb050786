// The pieces of sign-in on their own: the store's layout and file modes, the lease between
// processes, the callback port, $BROWSER, scopes, URL canonicalisation and the CLI flags.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  browserCommand,
  canonicalServerUrl,
  configDir,
  createOAuthSession,
  createOAuthStore,
  type LeaseOwner,
  type OAuthSession,
  type RenewRequest,
  type ServerRecord,
  withLease,
  withOAuthSession,
} from '../src/auth/index.js';
import { unionScopes, widensScope } from '../src/auth/scopes.js';
import { parseCommand } from '../src/cli/args.js';
import { oauthSandbox, servers } from './helpers/oauth.js';
import { builtPath } from './helpers/processes.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-lifeline-units-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('canonicalServerUrl and configDir', () => {
  it('one key per server however the URL is spelled; the query is kept', () => {
    const key = canonicalServerUrl('https://mcp.example.com/mcp');
    // With user info too (built, not spelled: such a URL is never sent anywhere).
    const withUserInfo = Object.assign(new URL('https://mcp.example.com/mcp/'), { username: 'user', password: 'pw' }).href;
    for (const spelling of ['HTTPS://MCP.Example.com:443/mcp', withUserInfo, 'https://mcp.example.com/mcp#x']) {
      assert.equal(canonicalServerUrl(spelling), key);
    }
    assert.notEqual(canonicalServerUrl('https://mcp.example.com/mcp?tenant=a'), key);
    assert.equal(canonicalServerUrl('https://mcp.example.com/'), 'https://mcp.example.com');
  });

  it('MCP_LIFELINE_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config; never the package version', () => {
    assert.equal(configDir({ env: { MCP_LIFELINE_CONFIG_DIR: '/x' } }), '/x');
    assert.equal(configDir({ env: { XDG_CONFIG_HOME: '/xdg' } }), '/xdg/mcp-lifeline');
    assert.equal(configDir({ env: {}, home: '/home/u', platform: 'linux' }), '/home/u/.config/mcp-lifeline');
    assert.equal(configDir({ env: { APPDATA: 'C:\\AppData' }, home: 'C:\\u', platform: 'win32' }), join('C:\\AppData', 'mcp-lifeline'));
  });
});

describe('the store', () => {
  it('writes atomically with mode 0600 in a 0700 directory, one file per server, grants keyed by issuer and resource', async (t) => {
    const dir = join(await tempDir(t), 'oauth', 'v1');
    const store = createOAuthStore(dir);
    const record: ServerRecord = {
      layout: 1,
      serverUrl: 'https://mcp.example.com/mcp',
      grants: {
        'https://as-one.example.com https://mcp.example.com/mcp': {
          issuer: 'https://as-one.example.com',
          resource: 'https://mcp.example.com/mcp',
        },
        'https://as-two.example.com https://mcp.example.com/mcp': {
          issuer: 'https://as-two.example.com',
          resource: 'https://mcp.example.com/mcp',
        },
      },
    };
    await store.write(record);
    await store.write(record);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const files = await readdir(dir);
    assert.deepEqual(files, [store.fileOf('https://MCP.example.com/mcp/').split('/').at(-1)], 'no temporary file left behind');
    assert.match(files[0] ?? '', /^mcp\.example\.com-[0-9a-f]{16}\.json$/);
    assert.equal((await stat(join(dir, files[0] ?? ''))).mode & 0o777, 0o600);
    assert.deepEqual(Object.keys((await store.read('https://mcp.example.com/mcp'))?.record.grants ?? {}).length, 2);
    assert.equal((await store.list()).length, 1);
    await writeFile(join(dir, 'damaged.json'), '{not json');
    assert.equal((await store.list()).length, 1, 'a damaged file is skipped');
    assert.equal(await store.remove('https://mcp.example.com/mcp'), true);
    assert.equal(await store.read('https://mcp.example.com/mcp'), undefined);
  });
});

describe('the lease', () => {
  it('one holder at a time across processes; a waiter runs after the holder, never alongside', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.json');
    const log: string[] = [];
    // Another process holds the lease for 600 ms.
    const holder = fork(builtPath('fixtures/hold-lease.js', import.meta.url), [file, '600'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    t.after(() => holder.kill());
    await once(holder, 'message');
    const started = Date.now();
    let waitedFor: unknown;
    await withLease(file, { waitMs: 5000, purpose: 'test', onWait: (owner) => (waitedFor = owner ?? 'unknown') }, async () => {
      log.push('held');
    });
    assert.ok(Date.now() - started >= 400, 'waited for the other holder');
    assert.ok(waitedFor !== undefined);
    assert.deepEqual(log, ['held']);
  });

  it("a waiter hears the holder's prompt when the holder says it after the wait began, once", async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.json');
    // Holds 800 ms, and says what the user must do 300 ms after taking the lease.
    const holder = fork(builtPath('fixtures/hold-lease.js', import.meta.url), [file, '800', '300'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    t.after(() => holder.kill());
    await once(holder, 'message');
    let atWait: LeaseOwner | undefined;
    const changes: LeaseOwner[] = [];
    await withLease(
      file,
      { waitMs: 5000, purpose: 'test', pollMs: 50, onWait: (owner) => (atWait = owner), onOwnerChange: (owner) => changes.push(owner) },
      async () => {},
    );
    assert.equal(atWait?.prompt, undefined, 'no prompt yet when the wait began');
    // The holder's first record (who, since when) may land after the wait began: a change too.
    const prompted = changes.filter((owner) => owner.prompt !== undefined);
    assert.equal(prompted.length, 1, JSON.stringify(changes));
    assert.equal(prompted[0]?.prompt?.kind === 'browser' && prompted[0].prompt.url, 'http://127.0.0.1:1/auth?client_id=held');
    assert.equal(prompted[0]?.pid, holder.pid);
    assert.equal(changes.at(-1), prompted[0], 'nothing reported after the prompt, which did not change');
  });

  it('a lease left by a dead process turns stale and is taken over; a live one past the wait bound is an error', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'server.json');
    await mkdir(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    assert.equal(await withLease(file, { waitMs: 1000, purpose: 'test', staleMs: 2000 }, async () => 'taken over'), 'taken over');
    await mkdir(`${file}.lock`);
    await assert.rejects(
      withLease(file, { waitMs: 300, purpose: 'test', staleMs: 10_000 }, async () => 'never'),
      { code: 'LEASE_TIMEOUT' },
    );
  });
});

describe('$BROWSER and scopes', () => {
  it('$BROWSER gets the URL as its last argument, or in place of %s; the first of a list', () => {
    const url = 'http://127.0.0.1:1/auth?a=1&b=2';
    assert.deepEqual(browserCommand(url, { BROWSER: '"/opt/my browser" --new-tab' }), {
      command: '/opt/my browser',
      args: ['--new-tab', url],
    });
    assert.deepEqual(browserCommand(url, { BROWSER: 'firefox %s:chromium' }), { command: 'firefox', args: [url] });
    assert.deepEqual(browserCommand(url, {}, 'darwin'), { command: 'open', args: [url] });
    assert.deepEqual(browserCommand(url, {}, 'linux'), { command: 'xdg-open', args: [url] });
  });

  it('every platform opener gets the URL as one argument, never through a shell (Windows: rundll32, not cmd /c start)', () => {
    // What cmd would read as its own syntax: & | ^ (CVE-2025-6514's class).
    const url = 'https://auth.example.com/authorize?a=1&b=2|calc.exe^&c=%22x%22';
    assert.deepEqual(browserCommand(url, { SystemRoot: 'C:\\Windows' }, 'win32'), {
      command: 'C:\\Windows\\System32\\rundll32.exe',
      args: ['url.dll,FileProtocolHandler', url],
    });
    assert.deepEqual(browserCommand(url, {}, 'darwin'), { command: 'open', args: [url] });
    assert.deepEqual(browserCommand(url, {}, 'linux'), { command: 'xdg-open', args: [url] });
    assert.deepEqual(browserCommand(url, { BROWSER: 'firefox --url=%s' }, 'win32'), { command: 'firefox', args: [`--url=${url}`] });
  });

  it('scope unions keep first-seen order; widening is about tokens, not strings', () => {
    assert.equal(unionScopes('a b', undefined, 'b c'), 'a b c');
    assert.equal(unionScopes(undefined, ''), undefined);
    assert.equal(widensScope('a b', 'b a'), false);
    assert.equal(widensScope('a c', 'a b'), true);
    assert.equal(widensScope('a', undefined), true);
  });
});

describe('OAuth flags', () => {
  it('on by default; off with --no-oauth or an Authorization header; flows and bounds parsed', () => {
    const bridge = parseCommand(['https://mcp.example.com/mcp', '--no-browser', '--oauth-timeout', '30', '--oauth-callback-port', '8765']);
    assert.ok(bridge.kind === 'bridge' && bridge.oauth);
    assert.equal(bridge.oauth.flow, 'browser');
    assert.equal(bridge.oauth.openBrowser, false);
    assert.equal(bridge.oauth.signInTimeoutMs, 30_000);
    assert.equal(bridge.oauth.callbackPort, 8765);
    const off = parseCommand(['https://mcp.example.com/mcp', '--no-oauth']);
    assert.ok(off.kind === 'bridge' && off.oauth === undefined);
    const header = parseCommand(['https://mcp.example.com/mcp', '--header', 'Authorization: Bearer x']);
    assert.ok(header.kind === 'bridge' && header.oauth === undefined);
    const device = parseCommand(['probe', 'https://mcp.example.com/mcp', '--device']);
    assert.ok(device.kind === 'probe' && device.oauth?.flow === 'device');
  });

  it('bad values are usage errors that name the flag', () => {
    const url = 'https://mcp.example.com/mcp';
    assert.throws(() => parseCommand([url, '--oauth-client-credentials'], {}), /MCP_LIFELINE_CLIENT_ID and MCP_LIFELINE_CLIENT_SECRET/);
    assert.throws(() => parseCommand([url, '--oauth-callback-port', '99999']), /--oauth-callback-port must be a port number/);
    assert.throws(() => parseCommand([url, '--oauth-client-metadata-url', 'http://x/y']), /must be an https URL/);
    assert.throws(
      () => parseCommand([url, '--oauth-client-info', '/nonexistent.json']),
      /--oauth-client-info \/nonexistent\.json: cannot read it \(ENOENT\)/,
    );
    assert.throws(() => parseCommand(['logout']), /logout: missing <url> \(or --all\)/);
    const cc = parseCommand([url, '--oauth-client-credentials'], { MCP_LIFELINE_CLIENT_ID: 'id', MCP_LIFELINE_CLIENT_SECRET: 's' });
    assert.ok(cc.kind === 'bridge' && cc.oauth?.flow === 'client-credentials' && cc.oauth.clientInformation?.client_secret === 's');
    const login = parseCommand(['login', url, '--force']);
    assert.ok(login.kind === 'login' && login.force);
  });
});

describe('the callback port', () => {
  it('the registered port taken by another program: registered anew on a free port, one window, signed in', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const store = createOAuthStore(`${sandbox.configDir}/oauth/v1`);
    const session = createOAuthSession({ serverUrl: server.url, store, env: { ...process.env, ...sandbox.env() } });
    await session.signIn();
    const grant = Object.values((await store.read(server.url))?.record.grants ?? {})[0];
    const redirect = (grant?.client as { redirect_uris?: string[] } | undefined)?.redirect_uris?.[0];
    const port = Number(new URL(String(redirect)).port);
    const squatter = createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    t.after(() => squatter.close());
    const result = await session.signIn({ force: true });
    assert.equal(result.outcome, 'signed-in');
    assert.equal(server.authorizationServer.counters.registrations, 2, 'a new registration for the new port');
    assert.equal((await sandbox.browserRuns()).length, 2);
  });

  it('a pre-registered client whose port is taken: a clear error, no browser', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    t.after(() => squatter.close());
    const port = (squatter.address() as AddressInfo).port;
    const session = createOAuthSession({
      serverUrl: server.url,
      store: createOAuthStore(`${sandbox.configDir}/oauth/v1`),
      env: { ...process.env, ...sandbox.env() },
      clientInformation: { client_id: 'pre-registered', redirect_uris: [`http://127.0.0.1:${port}/callback`] } as never,
      callbackPort: port,
    });
    await assert.rejects(session.signIn(), {
      code: 'CALLBACK_PORT_IN_USE',
      message: new RegExp(`port ${port} on 127\\.0\\.0\\.1.*in use`),
    });
    assert.equal((await sandbox.browserRuns()).length, 0);
  });
});

describe('withOAuthSession on a scripted server', () => {
  /** A session that hands out numbered tokens and records each renewal it was asked for. */
  function fakeSession(): OAuthSession & { renewals: RenewRequest[] } {
    let current = 0;
    const renewals: RenewRequest[] = [];
    return {
      serverUrl: 'https://mcp.example.com/mcp',
      renewals,
      accessToken: async () => (current === 0 ? undefined : `token-${current}`),
      renew: async (request: RenewRequest) => {
        renewals.push(request);
        current += 1;
        return `token-${current}`;
      },
    } as unknown as OAuthSession & { renewals: RenewRequest[] };
  }
  /** A `next` that answers from a script and records the Authorization header of each request. */
  function scripted(answers: Response[]) {
    const seen: (string | null)[] = [];
    const next = async (_url: string | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return answers.shift() ?? new Response('{}', { status: 200 });
    };
    return { next, seen };
  }
  const challenge = (status: number, header: string) => new Response('', { status, headers: { 'www-authenticate': header } });
  const post = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('a 401 with a Bearer challenge: one renewal, the request sent again with the new token', async () => {
    const session = fakeSession();
    const { next, seen } = scripted([
      challenge(401, 'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="a b"'),
    ]);
    const response = await withOAuthSession(session)(next)(
      'https://mcp.example.com/mcp',
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call"}'),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(seen, [null, 'Bearer token-1']);
    assert.equal(session.renewals.length, 1);
    assert.equal(session.renewals[0]?.interactive, true);
    assert.equal(session.renewals[0]?.challenge?.scope, 'a b');
  });

  it('only requests a user waits for may open a browser: not GET, DELETE or a ping', async () => {
    for (const [init, interactive] of [
      [{ method: 'GET' }, false],
      [{ method: 'DELETE' }, false],
      [post('{"jsonrpc":"2.0","id":"keepalive-1","method":"ping"}'), false],
      [post('{"jsonrpc":"2.0","id":2,"method":"tools/list"}'), true],
    ] as const) {
      const session = fakeSession();
      const { next } = scripted([challenge(401, 'Bearer')]);
      await withOAuthSession(session)(next)('https://mcp.example.com/mcp', init);
      assert.equal(session.renewals[0]?.interactive, interactive, JSON.stringify(init));
    }
  });

  it('a 401 without a Bearer challenge, or with a stream body, is handed back untouched', async () => {
    const session = fakeSession();
    const plain = scripted([new Response('no', { status: 401 })]);
    assert.equal((await withOAuthSession(session)(plain.next)('https://mcp.example.com/mcp', post('{}'))).status, 401);
    const streamed = scripted([challenge(401, 'Bearer')]);
    const body = new ReadableStream({ start: (controller) => controller.close() });
    const init = { method: 'POST', body, duplex: 'half' } as RequestInit;
    assert.equal((await withOAuthSession(session)(streamed.next)('https://mcp.example.com/mcp', init)).status, 401);
    assert.equal(session.renewals.length, 0);
  });

  it("the token goes to the session's server only: a request to another origin goes as it came, a 401 from it untouched", async () => {
    const session = fakeSession();
    await session.renew({ rejected: undefined, interactive: false });
    const { next, seen } = scripted([challenge(401, 'Bearer'), new Response('{}')]);
    const fetchWithOAuth = withOAuthSession(session)(next);
    assert.equal((await fetchWithOAuth('https://other.example.com/mcp', post('{}'))).status, 401);
    await fetchWithOAuth('https://mcp.example.com/mcp', post('{}'));
    assert.deepEqual(seen, [null, 'Bearer token-1']);
    assert.equal(session.renewals.length, 1, 'no renewal for the other origin');
  });

  it('a 403 insufficient_scope: one step-up; a second 403 is a STILL_UNAUTHORIZED error naming the scope', async () => {
    const session = fakeSession();
    const forbidden = () => challenge(403, 'Bearer error="insufficient_scope", scope="a admin"');
    const { next } = scripted([forbidden(), forbidden()]);
    await assert.rejects(withOAuthSession(session)(next)('https://mcp.example.com/mcp', post('{}')), {
      code: 'STILL_UNAUTHORIZED',
      message: /refused the new token too: HTTP 403 \(insufficient_scope\); the scope it asks for is "a admin"/,
    });
    assert.deepEqual(
      session.renewals.map((request) => request.stepUp),
      [true],
    );
  });
});
