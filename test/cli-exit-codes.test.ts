// Every exit code docs/reference/cli.md#exit-codes documents, as the built CLI gives it: one case
// per cell of the table (and the internal error every command shares), each against real servers
// on 127.0.0.1. The first test reads the table, so a code documented later needs its case here.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startDialectServer } from '../src/demo/dialect-server.js';
import { INITIALIZE, spawnCli } from './helpers/bridge.js';
import { startServe } from './helpers/gateway.js';
import { oauthSandbox, runCli, servers } from './helpers/oauth.js';
import { builtPath, freePort } from './helpers/processes.js';

const ROOT = builtPath('../..', import.meta.url);

type Outcome = { readonly code: number | null; readonly stdout: string; readonly stderr: string };

interface Case {
  readonly command: string;
  readonly code: number;
  readonly what: string;
  run(t: TestContext): Promise<Outcome>;
  /** What else must be true of the run. */
  check?(outcome: Outcome): void;
}

/** A server that asks for a sign-in it cannot give: 401 with a challenge whose metadata is not there. */
async function brokenSignInServer(t: TestContext): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    const { port } = server.address() as AddressInfo;
    res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource"` });
    res.end('no');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

async function dialectUrl(t: TestContext, dialect?: 'unrecognised'): Promise<string> {
  const server = await startDialectServer(dialect === undefined ? {} : { dialect });
  t.after(() => server.close());
  return server.url;
}

/** A sign-in store that may not be used: writable by others. */
async function insecureStore(t: TestContext): Promise<Record<string, string>> {
  const sandbox = await oauthSandbox(t);
  const dir = join(sandbox.configDir, 'oauth', 'v1');
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o777);
  return sandbox.env();
}

const CASES: readonly Case[] = [
  {
    command: 'bridge',
    code: 0,
    what: 'stdin closed after a session: the session is ended',
    async run(t) {
      const server = await startDialectServer();
      t.after(() => server.close());
      const cli = spawnCli([server.url]);
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      await cli.waitForMessage((message) => message['id'] === 1 && message['result'] !== undefined);
      cli.child.stdin?.end();
      const code = await cli.exited;
      assert.equal(server.counters.deletes, 1, 'the session was ended');
      return { code, stdout: cli.stdoutLines().join('\n'), stderr: cli.stderr() };
    },
  },
  {
    command: 'bridge',
    code: 0,
    what: 'the server goes away after initialize: requests get errors, the bridge serves on, exits 0 when stdin closes',
    async run(t) {
      const server = await startDialectServer();
      const cli = spawnCli([server.url, '--timeout', '1', '--restart-window', '0']);
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      await cli.waitForMessage((message) => message['id'] === 1 && message['result'] !== undefined);
      await server.close();
      cli.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }));
      const failed = await cli.waitForMessage((message) => message['id'] === 2);
      assert.match(String((failed['error'] as { message?: string } | undefined)?.message), /cannot reach/);
      assert.equal(cli.child.exitCode, null, 'still running');
      cli.child.stdin?.end();
      return { code: await cli.exited, stdout: '', stderr: cli.stderr() };
    },
  },
  {
    command: 'bridge',
    code: 2,
    what: 'a usage error, before stdin is read',
    run: () => runCli(['http://127.0.0.1:9/mcp', '--timeout', 'soon'], {}),
    check: ({ stderr }) => assert.match(stderr, /--timeout must be a positive number of seconds, got "soon"/),
  },
  {
    command: 'bridge',
    code: 2,
    what: 'the host never got a session (the server cannot be reached): each initialize answered with the reason, exit 2 when stdin closes',
    async run(t) {
      const cli = spawnCli([`http://127.0.0.1:${await freePort()}/mcp`]);
      t.after(() => cli.stop());
      cli.send(INITIALIZE);
      const answer = await cli.waitForMessage((message) => message['id'] === 1);
      const error = answer['error'] as { code?: number; message?: string } | undefined;
      assert.equal(error?.code, -32000);
      assert.match(error?.message ?? '', /^mcp-lifeline: cannot reach http:\/\/127\.0\.0\.1:\d+\/mcp .*connection refused/);
      // It serves on: the host may try again.
      cli.send(INITIALIZE.replace('"id":1', '"id":2'));
      await cli.waitForMessage((message) => message['id'] === 2);
      assert.equal(cli.child.exitCode, null, 'still running');
      cli.child.stdin?.end();
      return { code: await cli.exited, stdout: cli.stdoutLines().join('\n'), stderr: cli.stderr() };
    },
  },
  {
    command: 'probe',
    code: 0,
    what: 'session loss recognised',
    run: async (t) => runCli(['probe', await dialectUrl(t), '--no-color'], {}),
    check: ({ stdout }) => assert.match(stdout, /any host through mcp-lifeline\s+yes/),
  },
  {
    command: 'probe',
    code: 1,
    what: 'not recognised',
    run: async (t) => runCli(['probe', await dialectUrl(t, 'unrecognised'), '--no-color'], {}),
    check: ({ stdout }) => assert.match(stdout, /Not recognised/),
  },
  {
    command: 'probe',
    code: 2,
    what: 'nothing listening',
    run: async () => runCli(['probe', `http://127.0.0.1:${await freePort()}/mcp`], {}),
    check: ({ stderr }) => assert.match(stderr, /connection refused/),
  },
  {
    command: 'probe',
    code: 2,
    what: 'a usage error: --idle-steps without --idle',
    run: () => runCli(['probe', 'http://127.0.0.1:9/mcp', '--idle-steps', '1s'], {}),
    check: ({ stderr }) => assert.match(stderr, /--idle-steps is used only with --idle/),
  },
  {
    command: 'demo',
    code: 0,
    what: 'every call succeeded and nothing ran twice',
    run: () => runCli(['demo', '--duration', '1', '--interval', '20', '--no-color'], {}),
    check: ({ stdout }) => assert.match(stdout, /PASS/),
  },
  {
    command: 'demo',
    code: 1,
    what: 'without mcp-lifeline, calls fail',
    run: () => runCli(['demo', '--duration', '1', '--interval', '20', '--without-lifeline', '--no-color'], {}),
    check: ({ stdout }) => assert.match(stdout, /FAIL/),
  },
  {
    command: 'demo',
    code: 2,
    what: 'a usage error',
    run: () => runCli(['demo', '--drop-every', '0'], {}),
    check: ({ stderr }) => assert.match(stderr, /--drop-every must be an integer from 1 upward/),
  },
  {
    command: 'serve',
    code: 0,
    what: 'a clean shutdown (SIGTERM)',
    async run(t) {
      const serve = await startServe([await dialectUrl(t)]);
      t.after(() => serve.stop());
      const exited = once(serve.process, 'exit');
      serve.process.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return { code, stdout: serve.stdout(), stderr: serve.stderr() };
    },
  },
  {
    command: 'serve',
    code: 2,
    what: 'a configuration error: a port in use',
    async run(t) {
      const taken = createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      t.after(() => new Promise((resolve) => taken.close(resolve)));
      return runCli(['serve', 'http://127.0.0.1:9/mcp', '--port', String((taken.address() as AddressInfo).port)], {});
    },
    check: ({ stderr }) => assert.match(stderr, /is already in use \(--port\)/),
  },
  {
    command: 'login',
    code: 0,
    what: 'signed in',
    async run(t) {
      const sandbox = await oauthSandbox(t);
      const server = await servers(t);
      return runCli(['login', server.url], sandbox.env());
    },
    check: ({ stderr }) => assert.match(stderr, /^signed in to /m),
  },
  {
    command: 'login',
    code: 2,
    what: 'the sign-in failed (no metadata behind the challenge), said once',
    async run(t) {
      const sandbox = await oauthSandbox(t);
      return runCli(['login', await brokenSignInServer(t)], sandbox.env());
    },
    check: ({ stderr }) => {
      assert.match(stderr, /^mcp-lifeline login: sign-in to http:\/\/127\.0\.0\.1:\d+\/mcp failed/m);
      assert.equal(stderr.match(/failed: /g)?.length, 1, stderr);
    },
  },
  {
    command: 'login',
    code: 2,
    what: 'a usage error',
    run: () => runCli(['login'], {}),
    check: ({ stderr }) => assert.match(stderr, /login: missing <url>/),
  },
  {
    command: 'status',
    code: 0,
    what: 'what is stored was printed',
    run: async (t) => runCli(['status'], (await oauthSandbox(t)).env()),
    check: ({ stdout }) => assert.match(stdout, /no sign-ins stored/),
  },
  {
    command: 'status',
    code: 1,
    what: 'status <url>: nothing stored for it',
    run: async (t) => runCli(['status', 'https://mcp.example.com/mcp'], (await oauthSandbox(t)).env()),
  },
  {
    command: 'status',
    code: 2,
    what: 'the sign-in store may not be used',
    run: async (t) => runCli(['status'], await insecureStore(t)),
    check: ({ stderr }) => assert.match(stderr, /^mcp-lifeline status: the sign-in store .* is writable by other users/m),
  },
  {
    command: 'status',
    code: 2,
    what: 'a usage error',
    run: () => runCli(['status', 'https://a.example/mcp', 'https://b.example/mcp'], {}),
    check: ({ stderr }) => assert.match(stderr, /status: unexpected argument/),
  },
  {
    command: 'logout',
    code: 0,
    what: 'signed out (nothing was stored)',
    run: async (t) => runCli(['logout', 'https://mcp.example.com/mcp'], (await oauthSandbox(t)).env()),
    check: ({ stderr }) => assert.match(stderr, /nothing stored for https:\/\/mcp\.example\.com\/mcp/),
  },
  {
    command: 'logout',
    code: 2,
    what: 'the sign-in store may not be used',
    run: async (t) => runCli(['logout', '--all'], await insecureStore(t)),
    check: ({ stderr }) => assert.match(stderr, /^mcp-lifeline logout: the sign-in store .* is writable by other users/m),
  },
  {
    command: 'logout',
    code: 2,
    what: 'a usage error',
    run: () => runCli(['logout'], {}),
    check: ({ stderr }) => assert.match(stderr, /logout: missing <url> \(or --all\)/),
  },
  {
    command: 'all',
    code: 3,
    what: 'an internal error (a fault injected where the version is printed): "internal error" and the stack',
    async run(t) {
      const sandbox = await oauthSandbox(t);
      const preload = join(sandbox.dir, 'fault.cjs');
      await writeFile(preload, "process.stdout.write = () => { throw new Error('injected fault'); };\n");
      return runCli(['version'], { NODE_OPTIONS: `--require ${preload}` });
    },
    check: ({ stderr }) => assert.match(stderr, /^mcp-lifeline: internal error: Error: injected fault\n\s+at /),
  },
];

describe('exit codes', { concurrency: 4 }, () => {
  it('docs/reference/cli.md#exit-codes: every code in its table has a case here', async () => {
    const text = await readFile(join(ROOT, 'docs/reference/cli.md'), 'utf8');
    const section = text.slice(text.indexOf('## Exit codes'), text.indexOf('\n## ', text.indexOf('## Exit codes') + 1));
    const rows = section
      .split('\n')
      .filter((line) => /^\| \S/.test(line) && !line.startsWith('| command'))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim().replaceAll('`', '')),
      );
    assert.ok(rows.length >= 7, `${rows.length} rows`);
    const documented = rows.flatMap(([command, ...cells]) => cells.flatMap((cell, code) => (cell === '' ? [] : [`${command} ${code}`])));
    const tested = new Set(CASES.map((c) => `${c.command} ${c.code}`));
    assert.deepEqual(
      documented.filter((pair) => !tested.has(pair)),
      [],
    );
    assert.match(section, /`3` internal error/);
    assert.ok(tested.has('all 3'));
  });

  for (const c of CASES) {
    it(`${c.command} exits ${c.code}: ${c.what}`, async (t) => {
      const outcome = await c.run(t);
      assert.equal(outcome.code, c.code, `stderr: ${outcome.stderr.slice(-1500)}`);
      c.check?.(outcome);
    });
  }
});

describe('help, version and corrections, as the built CLI prints them', () => {
  it('every command answers --help and help <command>: exit 0, its usage on stdout, nothing on stderr', async () => {
    const runs: [string[], RegExp][] = [
      [['--help'], /^mcp-lifeline: keeps MCP clients working[\s\S]*mcp-lifeline logout <url> \| --all/],
      [['help'], /^mcp-lifeline: keeps MCP clients working/],
      [['https://mcp.example.com/mcp', '--help'], /^mcp-lifeline <url>: the stdio bridge/],
      [['probe', '--help'], /^mcp-lifeline probe <url>:/],
      [['demo', '--help'], /^mcp-lifeline demo:/],
      [['serve', '--help'], /^mcp-lifeline serve:/],
      [['login', '--help'], /^mcp-lifeline login <url>:/],
      [['status', '--help'], /^mcp-lifeline status \[<url>\]:/],
      [['logout', '-h'], /^mcp-lifeline logout:/],
      [['help', 'login'], /^mcp-lifeline login <url>:/],
      [['version'], /^\d+\.\d+\.\d+\n$/],
      [['--version'], /^\d+\.\d+\.\d+\n$/],
    ];
    const outcomes = await Promise.all(runs.map(([args]) => runCli(args, {})));
    outcomes.forEach((outcome, index) => {
      const [args, usage] = runs[index] as [string[], RegExp];
      assert.equal(outcome.code, 0, `${args.join(' ')}: ${outcome.stderr}`);
      assert.match(outcome.stdout, usage, args.join(' '));
      assert.equal(outcome.stderr, '', args.join(' '));
    });
  });

  it('a mistyped command, a URL without its scheme and no argument at all: exit 2 with the correction', async () => {
    const runs: [string[], RegExp][] = [
      [['prob', 'https://mcp.example.com/mcp'], /^mcp-lifeline: unknown command "prob": did you mean `probe`\?\n$/],
      [['loign'], /did you mean `login`\?/],
      [['localhost:8080'], /^mcp-lifeline: <url> has no scheme \(http:\/\/ or https:\/\/\): did you mean http:\/\/localhost:8080\/\?\n$/],
      [['probe', 'mcp.example.com/mcp'], /did you mean https:\/\/mcp\.example\.com\/mcp\?/],
      [
        [],
        /missing <url> or a command:[\s\S]*mcp-lifeline serve[\s\S]*mcp-lifeline login[\s\S]*mcp-lifeline status[\s\S]*mcp-lifeline logout/,
      ],
    ];
    const outcomes = await Promise.all(runs.map(([args]) => runCli(args, {})));
    outcomes.forEach((outcome, index) => {
      const [args, message] = runs[index] as [string[], RegExp];
      assert.equal(outcome.code, 2, args.join(' '));
      assert.match(outcome.stderr, message, args.join(' '));
      assert.equal(outcome.stdout, '');
    });
  });
});
