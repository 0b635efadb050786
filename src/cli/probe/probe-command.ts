import type { Writable } from 'node:stream';
import type { SecretScrubber } from '../../shared/secret-scrubber.js';
import { followSameOriginRedirects } from '../../upstream/same-origin-redirects.js';
import type { Command } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { painter, wantsColor } from '../paint.js';
import { secretsOf } from '../secrets.js';
import { hasStoredSignIn } from '../stored-sign-in.js';
import { packageIssuesUrl, packageVersion } from '../version.js';
import { ProbeConnectionError } from './probe-session.js';
import { renderProgress, renderText } from './render-text.js';
import type { ProbeReport } from './report.js';
import { runProbe } from './run-probe.js';
import { probeSignIn, refusedCredentials, renderSignIn } from './sign-in-report.js';

export type ProbeCommand = Extract<Command, { kind: 'probe' }>;

/** What `probe` writes to and reads from; injected so tests can run it in-process. */
export interface ProbeIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stdout is a terminal (colour, progress). */
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C: `--idle` stops waiting and still reports what it found. */
  readonly signal: AbortSignal;
  /** The fetch to probe with. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Exit code of a finished probe: 0 recognised (or stateless), 1 not recognised. */
function probeExitCode(report: ProbeReport): number {
  return report.verdict.kind === 'not-recognised' ? EXIT.problem : EXIT.ok;
}

/** Runs `mcp-lifeline probe`; resolves to the exit code. */
export async function probeCommand(command: ProbeCommand, io: ProbeIO): Promise<number> {
  // Servers quote the request back (headers in an error page): the report never shows a secret.
  const secrets = secretsOf(command);
  for (const warning of command.headerWarnings) io.stderr.write(`mcp-lifeline probe: warning: ${warning}\n`);
  // How the server signs in (issue 10): reported when it refuses us, or when we have signed in to it;
  // the session checks then run with the stored sign-in.
  let signIn = command.oauth !== undefined && (await hasStoredSignIn(command.url, io.env)) ? await probeSignIn(command) : undefined;
  const where = command.url.origin + command.url.pathname;
  let report: ProbeReport;
  try {
    report = await runProbe({
      url: command.url,
      headers: command.headers,
      timeoutMs: command.timeoutMs,
      // The probe sends the user's credentials too: never to another origin (see Limits and safety).
      fetch: followSameOriginRedirects(io.fetch ?? fetch),
      version: packageVersion(),
      issuesUrl: packageIssuesUrl(),
      idle: command.idle,
      signal: io.signal,
      onIdleProgress: io.isTTY && !command.json ? (progress) => io.stderr.write(renderProgress(progress)) : undefined,
    });
  } catch (error) {
    if (!(error instanceof ProbeConnectionError)) throw error;
    if (command.oauth !== undefined && signIn === undefined && refusedCredentials(error)) signIn = await probeSignIn(command);
    const message = secrets.scrub(error.message);
    io.stderr.write(`mcp-lifeline probe: ${message}\n`);
    if (command.json) io.stdout.write(toJson({ schemaVersion: 1, url: where, error: message, ...(signIn ? { signIn } : {}) }, secrets));
    else if (signIn?.required)
      io.stdout.write(secrets.scrub(renderSignIn(signIn, painter(wantsColor(command.color, io.isTTY, io.env)), where)));
    return EXIT.usage;
  }
  if (io.isTTY && command.idle !== undefined && !command.json) io.stderr.write('\r\u001b[2K');
  const paint = painter(wantsColor(command.color, io.isTTY, io.env));
  const signInText = signIn === undefined ? '' : renderSignIn(signIn, paint, where);
  io.stdout.write(
    command.json
      ? toJson(signIn === undefined ? report : { ...report, signIn }, secrets)
      : secrets.scrub(renderText(report, paint) + signInText),
  );
  return probeExitCode(report);
}

/** Every documented field is present: absent values are null, never missing; secrets the server quoted are scrubbed. */
function toJson(value: unknown, secrets: SecretScrubber): string {
  return `${JSON.stringify(value, (_key, field: unknown) => (field === undefined ? null : typeof field === 'string' ? secrets.scrub(field) : field), 2)}\n`;
}
