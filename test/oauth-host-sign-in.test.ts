// The first sign-in from inside a host (issue 20): an SDK host (the official Client over
// StdioClientTransport, its default 60 s request timeout) starts the bridge against the real
// authorization server (oidc-provider) and a protected SDK MCP server, and the user takes longer
// than the host waits. The host's initialize is answered in time with what to do, the sign-in
// goes on in a process of its own, and the host's next connection, or a second bridge started
// meanwhile, finds it done. The "user" is the test browser script, held until the test says go.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { createOAuthStore } from '../src/auth/oauth-store.js';
import { DEFAULT_SIGN_IN_REQUEST_WAIT_MS } from '../src/cli/oauth-options.js';
import { CLI, INITIALIZE, spawnCli } from './helpers/bridge.js';
import { BROWSER_SCRIPT, call, eventually, type OAuthSandbox, oauthSandbox, servers } from './helpers/oauth.js';
import { freePort } from './helpers/processes.js';

/** The bridge's bound in these tests: short, so that they stay fast; the default is checked below. */
const WAIT_S = 2;

interface Connection {
  readonly client: Client | undefined;
  readonly error: Error | undefined;
  /** From connect() to its outcome: the host's initialize, answered. */
  readonly ms: number;
  readonly bridgePid: number | undefined;
  stderr(): string;
}

/**
 * An SDK host with its defaults (60 s per request) connecting through `mcp-lifeline <url> flags…`;
 * `stderr()` reads the bridge's log while the connection is under way.
 */
function startConnecting(
  t: TestContext,
  url: string,
  env: Record<string, string>,
  flags: readonly string[],
): { stderr(): string; outcome: Promise<Connection> } {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, url, '--oauth-request-wait', String(WAIT_S), ...flags],
    env: { ...(process.env as Record<string, string>), ...env },
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const stderr = () => log;
  const client = new Client({ name: 'sdk-host', version: '1.0.0' });
  t.after(() => client.close());
  const started = performance.now();
  const outcome = client.connect(transport).then(
    () => ({ client, error: undefined, ms: performance.now() - started, bridgePid: transport.pid ?? undefined, stderr }),
    (error: unknown) => ({
      client: undefined,
      error: error as Error,
      ms: performance.now() - started,
      bridgePid: transport.pid ?? undefined,
      stderr,
    }),
  );
  return { stderr, outcome };
}

function connect(t: TestContext, url: string, env: Record<string, string>, flags: readonly string[]): Promise<Connection> {
  return startConnecting(t, url, env, flags).outcome;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process holding the sign-in lease for `url`, as its owner file names it. */
async function leaseOwnerPid(sandbox: OAuthSandbox, url: string): Promise<number | undefined> {
  const file = createOAuthStore(join(sandbox.configDir, 'oauth', 'v1')).fileOf(url);
  const text = await readFile(`${file}.owner`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

/**
 * A user who has not acted yet: the browser script waits for a file. The test's `go()` is the user
 * finishing; after the test, the user acts anyway and any background sign-in is stopped.
 */
async function slowUser(t: TestContext, sandbox: OAuthSandbox, url: string): Promise<{ env: Record<string, string>; go(): Promise<void> }> {
  const file = join(sandbox.dir, 'user-acts');
  // (After the test, the sandbox may be gone already: then so is the browser's reason to wait.)
  const go = () => writeFile(file, 'go').catch(() => {});
  t.after(async () => {
    await go();
    const pid = await leaseOwnerPid(sandbox, url);
    if (pid !== undefined && pid !== process.pid && alive(pid)) process.kill(pid);
  });
  return { env: sandbox.env({ OAUTH_BROWSER_WAIT_FILE: file }), go };
}

async function signedIn(sandbox: OAuthSandbox, url: string): Promise<boolean> {
  const found = await createOAuthStore(join(sandbox.configDir, 'oauth', 'v1')).read(url);
  return Object.values(found?.record.grants ?? {}).some((grant) => grant.tokens !== undefined);
}

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
    await eventually('the first bridge to end', () => first.bridgePid === undefined || !alive(first.bridgePid), 10_000);
    assert.ok(alive(signer), 'the background sign-in outlives the bridge');
    assert.equal(await leaseOwnerPid(sandbox, server.url), signer);

    await user.go();
    await eventually('the sign-in to finish', () => signedIn(sandbox, server.url), 20_000);
    await eventually('the background sign-in to exit', () => !alive(signer), 10_000);

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
    await eventually('the sign-in to finish', () => signedIn(sandbox, server.url), 20_000);
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
    await eventually('the bridge to join', () => /joining it; this request waits for it up to 30 s/.test(joining.stderr()), 15_000);
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

  for (const [what, browser, flags] of [
    ['BROWSER=false', { BROWSER: 'false' }, []],
    ['--no-browser, with the port fixed by --oauth-callback-port', {}, ['--no-browser', '--oauth-callback-port']],
  ] as const) {
    it(`${what}: no window is claimed; the URL, until when, the callback port and how to forward it, in the log and the answer`, async (t) => {
      const sandbox = await oauthSandbox(t);
      const server = await servers(t);
      const fixed = (flags as readonly string[]).includes('--oauth-callback-port') ? await freePort() : undefined;
      const args = [server.url, '--oauth-request-wait', String(WAIT_S), ...flags, ...(fixed === undefined ? [] : [String(fixed)])];
      const cli = spawnCli(args, sandbox.env(browser));
      t.after(async () => {
        await cli.stop();
        const pid = await leaseOwnerPid(sandbox, server.url);
        if (pid !== undefined && alive(pid)) process.kill(pid);
      });
      cli.send(INITIALIZE);
      const answer = await cli.waitForMessage((message) => message['id'] === 1, 30_000);
      const said = String((answer['error'] as { message?: string } | undefined)?.message);
      const url = /open (http:\/\/127\.0\.0\.1:\d+\/auth\?\S+) in a browser on this machine \(it comes back to port (\d+)\)/.exec(said);
      assert.ok(url, said);
      const port = Number(url[2]);
      if (fixed !== undefined) assert.equal(port, fixed);
      assert.equal(new URL(url[1] ?? '').searchParams.get('redirect_uri'), `http://127.0.0.1:${port}/callback`);
      assert.match(said, /It waits until \d\d:\d\d:\d\d \(in [45] min\)/);
      const log = cli.stderr();
      assert.doesNotMatch(log + said, /just opened|window opened at|window that opens/);
      const why =
        browser.BROWSER === 'false'
          ? 'no browser window opened: the browser command \\(false\\) exited with code 1'
          : 'no browser is started with --no-browser';
      assert.match(
        log,
        new RegExp(
          `warn  sign in to \\S+: open this URL in a browser on this machine: \\S+ \\(${why}\\)\\. mcp-lifeline waits until \\d\\d:\\d\\d:\\d\\d \\(in [45] min\\) ` +
            `for the browser to come back to http://127\\.0\\.0\\.1:${port}/callback\\. From a browser on another machine, forward that port first ` +
            `\\(ssh -L ${port}:127\\.0\\.0\\.1:${port} <this machine>\\); --oauth-callback-port ${port} keeps it the same next time`,
        ),
      );
      // The URL works: opened by hand (the browser script), it signs in, and the host's retry gets its session.
      const user = spawn(process.execPath, [BROWSER_SCRIPT, url[1] ?? ''], { env: { ...process.env, ...sandbox.env() }, stdio: 'ignore' });
      await once(user, 'exit');
      await eventually('the sign-in to finish', () => signedIn(sandbox, server.url), 20_000);
      cli.send(INITIALIZE.replace('"id":1', '"id":2'));
      assert.ok((await cli.waitForMessage((message) => message['id'] === 2, 20_000))['result']);
    });
  }

  it('a sign-in the user refused: the host gets why, and the next connection within 30 s gets it with when a new window may open', async (t) => {
    const sandbox = await oauthSandbox(t);
    const server = await servers(t);
    const env = sandbox.env({ OAUTH_BROWSER_ACTION: 'deny' });
    const first = await connect(t, server.url, env, ['--oauth-request-wait', '20']);
    assert.match(
      first.error?.message ?? '',
      /the authorization server refused the sign-in: access_denied.*Try again by connecting again, or run: mcp-lifeline login/,
    );
    const again = await connect(t, server.url, env, []);
    assert.match(
      again.error?.message ?? '',
      /refused the sign-in: access_denied.*\(the sign-in ran in process \d+\)\. A new sign-in opens from \d\d:\d\d:\d\d \(in [123]?\d s\) when the host connects again; or run now: mcp-lifeline login http/,
    );
    assert.ok(again.ms < 10_000, `answered at once: ${Math.round(again.ms)} ms`);
    assert.equal((await sandbox.browserRuns()).length, 1, 'no second window');
  });
});
