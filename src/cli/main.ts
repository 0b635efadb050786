#!/usr/bin/env node
// The mcp-lifeline command. The only place that touches process.exit, argv and signals.
import type { Dispatcher } from 'undici';
import { HELP, parseCommand } from './args.js';
import { EXIT } from './exit-codes.js';
import type { NetworkSettings } from './network-args.js';
import { describeOutbound } from './proxy-settings.js';
import { UsageError } from './usage-error.js';
import { packageVersion } from './version.js';

// Each command's code is loaded when that command runs: the bridge, which a host starts and keeps
// for hours, never holds the demo server, the gateway or the probe in memory.
async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommand(argv);
  switch (command.kind) {
    case 'help':
      process.stdout.write(`${HELP}\n`);
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
      process.once('SIGINT', () => interrupt.abort());
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
      const { serveCommand } = await import('./serve-command.js');
      return serveCommand(command, {
        // Logged by serve itself, with its other startup lines.
        outbound: command.help ? undefined : await installOutbound(command.network),
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        onSignal: (s, h) => process.once(s, h),
      });
    }
    case 'bridge': {
      const [{ startStdioBridge }, { createBridgeUpstream }, { createLogger }, { secretsOf }, { createUndiciFetch }] = await Promise.all([
        import('../bridge/stdio-bridge.js'),
        import('./bridge-upstream.js'),
        import('./logger.js'),
        import('./secrets.js'),
        import('../upstream/undici-fetch.js'),
      ]);
      const secrets = secretsOf(command);
      const log = createLogger({ level: command.logLevel, format: command.logFormat, out: process.stderr, scrub: secrets.scrub });
      const outbound = await installOutbound(command.network);
      const network = describeOutbound(command.network.proxies, command.network.caFiles);
      if (network !== undefined) log.info('network', network.fields);
      // One keep-alive HTTP client for the server; sign-in beneath session recovery (a 401 is
      // never a lost session) when the server wants OAuth.
      const http = createUndiciFetch(outbound);
      const oauth = command.oauth;
      const upstreamFetch =
        oauth === undefined ? http : (await import('./lazy-sign-in.js')).lazySignInFetch({ url: command.url, oauth }, log, { fetch: http });
      const bridge = startStdioBridge({
        ...command,
        log,
        createUpstream: (sink) => createBridgeUpstream(command, { sink, fetch: upstreamFetch }),
      });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void bridge.shutdown(signal));
      // The host went away: nothing left to write to.
      process.stdout.on('error', () => void bridge.shutdown('stdout closed'));
      await bridge.closed;
      return EXIT.ok;
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
  const [{ createOutbound }, { setGlobalDispatcher }] = await Promise.all([import('./outbound.js'), import('undici')]);
  const dispatcher = createOutbound(network, process.env);
  setGlobalDispatcher(dispatcher);
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
      process.stderr.write(`mcp-lifeline: ${error.message}\n`);
      process.exit(EXIT.usage);
    }
    process.stderr.write(`mcp-lifeline: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(EXIT.internal);
  },
);
