#!/usr/bin/env node
// The mcp-lifeline command. The only place that touches process.exit, argv and signals.
import type { Dispatcher } from 'undici';
import { parseCommand } from './args.js';
import { EXIT } from './exit-codes.js';
import { type LogSink, openLogFile, teeSink } from './log-file.js';
import type { NetworkSettings } from './network-args.js';
import { describeOutbound } from './proxy-settings.js';
import { UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

/** Where errors go: stderr, and once a command opened its `--log-file`, that file too. */
const errors: { sink: LogSink } = { sink: process.stderr };

/** stderr and the `--log-file` (when given): what the bridge's and serve's logs are written to. */
function logOutput(path: string | undefined): LogSink {
  if (path === undefined) return process.stderr;
  const file = openLogFile(path, (message) => process.stderr.write(`mcp-lifeline: ${message}\n`));
  process.once('exit', () => file.close());
  errors.sink = teeSink(process.stderr, file);
  return errors.sink;
}

/**
 * Handles `signal` for as long as the process runs. Not `process.once`: proper-lockfile (the
 * sign-in's lease) brings signal-exit, which re-raises a signal it finds no other listener for, and
 * a once-listener is gone by the time it looks: the process would die mid-shutdown.
 */
function onSignal(signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP', handler: () => void): void {
  process.on(signal, handler);
}

// Each command's code is loaded when that command runs: the bridge, which a host starts and keeps
// for hours, never holds the demo server, the gateway or the probe in memory.
async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommand(argv);
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${(await import('./help.js')).helpText(command.topic)}\n`);
      return EXIT.ok;
    case 'version':
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.ok;
    case 'login':
    case 'status':
    case 'logout': {
      if (command.kind !== 'status')
        await installOutbound(command.network, (line) => process.stderr.write(`mcp-lifeline ${command.kind}: ${line}\n`));
      const { runAuthCommand } = await import('./auth-commands.js');
      return runAuthCommand(command, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    }
    case 'demo': {
      const [{ runDemo }, { wantsColor }] = await Promise.all([import('./demo.js'), import('./paint.js')]);
      const summary = await runDemo({
        ...command,
        color: wantsColor(command.color, process.stdout.isTTY, process.env),
        out: process.stdout,
      });
      return summary.passed ? EXIT.ok : EXIT.problem;
    }
    case 'probe': {
      // Ctrl-C is the user's from the first moment: --idle then reports what it found so far.
      const interrupt = new AbortController();
      onSignal('SIGINT', () => interrupt.abort());
      const [{ probeCommand }, { oauthFetchFor }, { createLogger }] = await Promise.all([
        import('./probe/probe-command.js'),
        import('./oauth-fetch.js'),
        import('./logger.js'),
        installOutbound(command.network, (line) => process.stderr.write(`mcp-lifeline probe: ${line}\n`)),
      ]);
      return probeCommand(command, {
        stdout: process.stdout,
        stderr: process.stderr,
        isTTY: process.stdout.isTTY === true,
        env: process.env,
        signal: interrupt.signal,
        // After `login`: probe with the stored sign-in (never opening a browser).
        ...oauthFetchFor(command, createLogger({ level: 'warn', format: 'text', out: process.stderr }), { interactive: false }),
      });
    }
    case 'serve': {
      const [{ parseServeCommand }, { serveCommand }] = await Promise.all([import('./serve-args.js'), import('./serve-command.js')]);
      const serve = parseServeCommand(command.argv, process.env);
      return serveCommand(serve, {
        // Logged by serve itself, with its other startup lines.
        outbound: serve.help ? undefined : await installOutbound(serve.network),
        stdout: process.stdout,
        stderr: serve.help ? process.stderr : logOutput(serve.logFile),
        env: process.env,
        onSignal,
      });
    }
    case 'bridge': {
      const [{ startStdioBridge }, { createBridgeUpstream }, { createLogger }, { secretsOf }, { outboundFetch }] = await Promise.all([
        import('../bridge/stdio-bridge.js'),
        import('./bridge-upstream.js'),
        import('./logger.js'),
        import('./secrets.js'),
        import('./outbound.js'),
      ]);
      const secrets = secretsOf(command);
      const log = createLogger({
        level: command.logLevel,
        format: command.logFormat,
        out: logOutput(command.logFile),
        scrub: secrets.scrub,
      });
      for (const warning of command.headerWarnings) log.warn(warning);
      const outbound = await installOutbound(command.network);
      const network = describeOutbound(command.network.proxies, command.network.caFiles);
      if (network !== undefined) log.info('network', network.fields);
      // One keep-alive HTTP client for the server; sign-in beneath session recovery (a 401 is
      // never a lost session) when the server wants OAuth.
      const http = await outboundFetch(command.network, outbound);
      const oauth = command.oauth;
      const upstreamFetch =
        oauth === undefined
          ? http
          : (await import('./lazy-sign-in.js')).lazySignInFetch({ url: command.url, oauth }, log, {
              fetch: http,
              forHost: {
                requestWaitMs: command.signInRequestWaitMs,
                logSettings: { file: command.logFile, level: command.logLevel, format: command.logFormat },
                network: command.network,
              },
            });
      const bridge = startStdioBridge({
        ...command,
        log,
        createUpstream: (sink) => createBridgeUpstream(command, { sink, fetch: upstreamFetch }),
      });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) onSignal(signal, () => void bridge.shutdown(signal));
      // The host went away: nothing left to write to.
      process.stdout.on('error', () => void bridge.shutdown('stdout closed'));
      const end = await bridge.closed;
      // Each failed initialize was answered with its reason; the exit code says the host never got a session.
      return end.failedToStart ? EXIT.usage : EXIT.ok;
    }
  }
}

/**
 * The command's way to servers (its proxy, its extra CAs: outbound.ts), made undici's global
 * dispatcher: Node's fetch reads it too, so every request the command makes follows it, the
 * sign-in's and the SDK's included. Only commands that reach servers call this; the library never
 * does. `say` gets the startup line naming the proxy (never its credentials), if there is one.
 */
async function installOutbound(network: NetworkSettings, say?: (line: string) => void): Promise<Dispatcher> {
  const [{ createOutbound }, { installGlobalDispatcher }] = await Promise.all([
    import('./outbound.js'),
    import('../upstream/global-dispatcher.js'),
  ]);
  const dispatcher = createOutbound(network, process.env);
  installGlobalDispatcher(dispatcher);
  const described = describeOutbound(network.proxies, network.caFiles);
  if (described !== undefined) say?.(described.text);
  return dispatcher;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Open handles (a half-closed socket) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      errors.sink.write(`mcp-lifeline: ${error.message}\n`);
      process.exit(EXIT.usage);
    }
    errors.sink.write(`mcp-lifeline: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.internal);
  },
);
