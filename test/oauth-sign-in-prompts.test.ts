// What a host shows its user when the sign-in cannot open a window for them (BROWSER=false,
// --no-browser: the URL, the wait, the callback port and how to forward it), and after a sign-in
// the user refused (why, and when a new window may open). The real authorization server
// (oidc-provider), the bridge as an SDK host or a raw process starts it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { eventually } from './helpers/eventually.js';
import { alive, connect, leaseOwnerPid, signedIn, WAIT_S } from './helpers/host-sign-in.js';
import { BROWSER_SCRIPT, oauthSandbox, servers } from './helpers/oauth.js';
import { freePort } from './helpers/processes.js';

describe('sign-in prompts a host passes on', () => {
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
      await eventually(() => signedIn(sandbox, server.url), 20_000, 'the sign-in to finish');
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
