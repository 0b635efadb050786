// The first sign-in from inside a host (issue 20): an SDK host (the official Client over
// StdioClientTransport, its default 60 s request timeout) starts the bridge against the real
// authorization server (oidc-provider) and a protected SDK MCP server, and the user takes longer
// than the host waits. The host's initialize is answered in time with what to do, the sign-in
// goes on in a process of its own, and the host's next connection, or a second bridge started
// meanwhile, finds it done. The "user" is the test browser script, held until the test says go.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { DEFAULT_SIGN_IN_REQUEST_WAIT_MS } from '../src/cli/oauth-options.js';
import { CLI, INITIALIZE, spawnCli } from './helpers/bridge.js';
import { eventually } from './helpers/eventually.js';
import { alive, connect, leaseOwnerPid, signedIn, slowUser, startConnecting, WAIT_S } from './helpers/host-sign-in.js';
import { call, oauthSandbox, servers } from './helpers/oauth.js';

describe('the first sign-in from inside a host', () => {
  it('the default bound answers well before the SDK host gives up (60 s)', () => {
    assert.equal(DEFAULT_REQUEST_TIMEOUT_MSEC, 60_000);
    assert.ok(DEFAULT_SIGN_IN_REQUEST_WAIT_MS * 2 <= DEFAULT_REQUEST_TIMEOUT_MSEC, `${DEFAULT_SIGN_IN_REQUEST_WAIT_MS} ms`);
  });

  it("an SDK host's initialize is answered in time with what to do; the sign-in outlives the bridge, and the host's next connection finds it done", async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const user = await slowUser(t, sandbox, server.url);

    const first = await connect(t, server.url, user.env, []);
    t.diagnostic(`host initialize → error answer: ${Math.round(first.ms)} ms (bound ${WAIT_S} s; the host gives up at 60 s)`);
    assert.ok(first.error, 'the first connection cannot work yet');
    // The bridge's answer, not the SDK's own timeout (McpError -32001 "Request timed out" at 60 s).
    assert.equal((first.error as { code?: number }).code, -32000);
    assert.ok(first.ms >= WAIT_S * 1000, 'it waited for the user first');
    // The bound, plus the bridge's start and the server's first answers on a loaded machine.
    assert.ok(first.ms < WAIT_S * 1000 + 15_000, `${Math.round(first.ms)} ms`);
    assert.match(
      first.error.message,
      /sign-in to http:\/\/127\.0\.0\.1:\d+\/mcp is waiting for you: finish it in the browser window (that opens|opened at \d\d:\d\d:\d\d), or run: mcp-lifeline login http:\/\/127\.0\.0\.1:\d+\/mcp\. It waits until \d\d:\d\d:\d\d \(in [45] min\)\. Then connect again/,
    );
    assert.match(
      first.stderr(),
      /signing in to .* in a process of its own \(\d+\), which outlives this one; this request waits for it up to 2 s/,
    );
    assert.equal((first.stderr().match(/is waiting for you/g) ?? []).length, 1, 'said once');

    // The host closed its bridge (StdioClientTransport: stdin, then SIGTERM); the sign-in lives on.
    const signer = Number(/in a process of its own \((\d+)\)/.exec(first.stderr())?.[1]);
    await eventually(() => first.bridgePid === undefined || !alive(first.bridgePid), 10_000, 'the first bridge to end');
    assert.ok(alive(signer), 'the background sign-in outlives the bridge');
    assert.equal(await leaseOwnerPid(sandbox, server.url), signer);

    await user.go();
    await eventually(() => signedIn(sandbox, server.url), 20_000, 'the sign-in to finish');
    await eventually(() => !alive(signer), 10_000, 'the background sign-in to exit');

    const second = await connect(t, server.url, user.env, []);
    assert.equal(second.error, undefined, second.error?.message);
    assert.ok(second.client);
    assert.equal(await call({ client: second.client, stderr: second.stderr }), '1');
    assert.equal(server.counters.executions, 1);
    assert.equal((await sandbox.browserRuns()).length, 1, 'one browser window');
    assert.equal(server.authorizationServer.counters.authorizations, 1);
    assert.deepEqual(server.authorizationServer.counters.tokens, { authorization_code: 1 });
  });

  it('a host that sends initialize again to the same bridge gets the session once the user is done; the bridge exits 0', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const user = await slowUser(t, sandbox, server.url);
    const cli = spawnCli([server.url, '--oauth-request-wait', String(WAIT_S)], user.env);
    t.after(() => cli.stop());
    const started = performance.now();
    cli.send(INITIALIZE);
    const pending = await cli.waitForMessage((message) => message['id'] === 1, 20_000);
    const ms = performance.now() - started;
    t.diagnostic(`initialize → error answer: ${Math.round(ms)} ms`);
    assert.ok(ms >= WAIT_S * 1000 && ms < WAIT_S * 1000 + 15_000, `${Math.round(ms)} ms`);
    assert.match(JSON.stringify(pending['error']), /is waiting for you/);
    await user.go();
    await eventually(() => signedIn(sandbox, server.url), 20_000, 'the sign-in to finish');
    cli.send(INITIALIZE.replace('"id":1', '"id":2'));
    const answer = await cli.waitForMessage((message) => message['id'] === 2, 20_000);
    assert.ok(answer['result'], JSON.stringify(answer));
    cli.child.stdin?.end();
    assert.equal(await cli.exited, 0, 'the host got its session');
    assert.equal((await sandbox.browserRuns()).length, 1);
  });

  it('a bridge started while a sign-in is in progress joins it, says how long it waits, and never repeats an old error', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const user = await slowUser(t, sandbox, server.url);
    const first = await connect(t, server.url, user.env, []);
    assert.match(first.error?.message ?? '', /is waiting for you/);

    // A bridge whose request cannot wait long enough: the same advice, not an old error.
    const impatient = await connect(t, server.url, user.env, ['--oauth-request-wait', '1']);
    assert.match(
      impatient.error?.message ?? '',
      /sign-in to .* is waiting for you: finish it in the browser window (that opens|opened at)/,
    );
    assert.match(
      impatient.stderr(),
      /a sign-in to .* is in progress in process \d+ \(it waits for you until \d\d:\d\d:\d\d \(in [45] min\)\): joining it; this request waits for it up to 1 s/,
    );

    // One that waits longer joins, and gets its session when the user is done.
    const joining = startConnecting(t, server.url, user.env, ['--oauth-request-wait', '30']);
    await eventually(() => /joining it; this request waits for it up to 30 s/.test(joining.stderr()), 15_000, 'the bridge to join');
    await user.go();
    const second = await joining.outcome;
    assert.equal(second.error, undefined, second.error?.message);
    assert.ok(second.client);
    assert.equal(await call({ client: second.client, stderr: second.stderr }), '1');
    assert.match(second.stderr(), /signed in to .* \(by the sign-in in process \d+\)/);
    for (const stderr of [first.stderr(), impatient.stderr(), second.stderr()]) {
      assert.doesNotMatch(stderr, /not completed|ran in process \d+\)$/m);
    }
    assert.equal((await sandbox.browserRuns()).length, 1, 'one browser window for three bridges');
    assert.equal(server.authorizationServer.counters.authorizations, 1);
  });

  it('`mcp-lifeline login`, as the answer advises, waits for the sign-in in progress and shows its URL; no second window', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const user = await slowUser(t, sandbox, server.url);
    const first = await connect(t, server.url, user.env, []);
    assert.match(first.error?.message ?? '', /is waiting for you: .*or run: mcp-lifeline login/);
    const login = spawn(process.execPath, [CLI, 'login', server.url], {
      env: { ...process.env, ...user.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => login.kill());
    let said = '';
    login.stderr.on('data', (chunk: Buffer) => {
      said += chunk.toString();
    });
    const exited = once(login, 'exit');
    await eventually(
      () => /waiting for another mcp-lifeline process to finish signing in \(it waits for you until \d\d:\d\d:\d\d/.test(said),
      15_000,
      'login to wait for the sign-in in progress',
    );
    // The sign-in says its URL once its browser opened, which may come after login began to wait.
    await eventually(
      () => /sign in to .* in the browser window just opened; .* If none opened, open: http:\/\/127\.0\.0\.1:\d+\/auth\?/.test(said),
      15_000,
      'login to show the URL of the sign-in in progress',
    );
    assert.equal((said.match(/If none opened/g) ?? []).length, 1, `the URL shown once: ${said}`);
    await user.go();
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, said);
    assert.match(said, /already signed in to/);
    assert.equal((await sandbox.browserRuns()).length, 1, 'one browser window');
  });
});
