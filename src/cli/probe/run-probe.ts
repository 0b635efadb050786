import { networkErrorText } from '../../errors/network-error-text.js';
import { describeUrl, redactIds, redactSessionId } from '../../shared/redact.js';
import type { EraVerdict } from '../../upstream/classify-discover-answer.js';
import { speaksForItself } from '../../upstream/fetch-failure-text.js';
import { httpErrorText } from '../../upstream/http-error-text.js';
import { plural } from '../plural.js';
import { type IdleProgress, measureIdle } from './measure-idle.js';
import { discoverEra, eraReport } from './probe-eras.js';
import {
  checkAnswer,
  neverIssuedSessionId,
  type OpenedSession,
  openSession,
  ProbeConnectionError,
  type ProbeTarget,
  sessionAlive,
  sessionHeaders,
} from './probe-session.js';
import { probeSseSession } from './probe-sse-session.js';
import type { Check, Coping, ProbeReport, ServerFacts, Verdict } from './report.js';

export interface ProbeOptions extends ProbeTarget {
  /** Reported to the server as the probe's clientInfo version. */
  readonly version: string;
  /** Where a server mcp-lifeline does not recognise is to be reported (package.json `bugs`). */
  readonly issuesUrl: string;
  /** Measure the idle timeout too. */
  readonly idle: { readonly maxMs: number; readonly stepsMs: readonly number[] } | undefined;
  /** Ctrl-C: stop the idle measurement and report what was found. */
  readonly signal: AbortSignal;
  readonly onIdleProgress?: ((progress: IdleProgress) => void) | undefined;
}

/**
 * Finds out how a server signals a lost session: opens a session, checks it, then sends the
 * answers a lost session gets (never-issued id, no id, GET, DELETE, terminated session) and
 * classifies each. Leaves no session of its own open. Throws {@linkcode ProbeConnectionError}
 * when the server cannot be talked to at all.
 */
export async function runProbe(options: ProbeOptions): Promise<ProbeReport> {
  const where = describeUrl(options.url.href);
  // The one server/discover probe `mcp-lifeline <url>` sends at start: which era it would speak.
  const modern = await discoverEra(options, options.version);
  let session: OpenedSession;
  try {
    session = await openSession(options, options.version);
  } catch (error) {
    const refused = connectionErrorText(error, where, options.timeoutMs);
    const report = await reportWithoutStreamableHttp(options, modern, refused);
    if (report !== undefined) return report;
    throw new ProbeConnectionError(refused, { cause: error });
  }
  const server = serverFacts(session);
  const listsTools = typeof session.result['capabilities'] === 'object' && 'tools' in (session.result['capabilities'] as object);
  const live = await sessionAlive(options, session, listsTools ? 'tools/list' : 'ping');
  const tools = live.answer?.['tools'];
  const liveCheck = {
    request: live.request,
    status: live.status,
    contentType: live.contentType,
    excerpt: Array.isArray(tools) ? plural(tools.length, 'tool') : live.excerpt,
    error: live.error,
  };

  // A server may quote the session id it was sent: the report never shows a real one in full.
  const checks = (await lostSessionAnswers(options, session)).map((check) => ({
    ...check,
    excerpt: redactIds(check.excerpt, [session.sessionId]),
  }));
  const verdict = decide(server.sessionIssued, checks, options.issuesUrl);
  const idle =
    options.idle === undefined || !server.sessionIssued
      ? undefined
      : await measureIdle(options, {
          ...options.idle,
          version: options.version,
          signal: options.signal,
          onProgress: options.onIdleProgress,
        });
  return {
    schemaVersion: 1,
    url: where,
    server,
    liveCheck,
    checks,
    verdict,
    coping: coping(verdict),
    idle,
    eras: eraReport(
      modern,
      {
        speaks: true,
        protocolVersion: session.protocolVersion,
        detail: `initialize negotiated ${session.protocolVersion ?? '(no version)'}${server.sessionIssued ? ', session issued' : ', no session'}`,
      },
      { speaks: null, detail: 'not checked: POST reached a Streamable HTTP endpoint' },
    ),
  };
}

/**
 * A server whose URL takes no 2025 `initialize`: a 2026-07-28-only server (reported as the
 * stateless server it is), or a 2024-11-05 HTTP+SSE server (its lost-session answers checked
 * over that transport). Undefined when it is neither: the caller reports the failure.
 */
async function reportWithoutStreamableHttp(options: ProbeOptions, modern: EraVerdict, refused: string): Promise<ProbeReport | undefined> {
  const where = describeUrl(options.url.href);
  const streamable = { speaks: false, protocolVersion: undefined, detail: refused };
  if (modern.kind === 'modern') {
    const result = modern.discover.result;
    const serverInfo = (result['_meta'] as Record<string, unknown> | undefined)?.['io.modelcontextprotocol/serverInfo'];
    const server = serverFacts({ sessionId: undefined, protocolVersion: modern.discover.version, result: { ...result, serverInfo } });
    const verdict: Verdict = {
      kind: 'stateless',
      rule: undefined,
      summary:
        'Speaks 2026-07-28 only: it has no sessions to lose, but 2025-era hosts cannot connect to it at all (their initialize is refused); ' +
        'through mcp-lifeline they can.',
    };
    return {
      schemaVersion: 1,
      url: where,
      server,
      liveCheck: { request: 'POST server/discover', status: 200, contentType: null, excerpt: modern.evidence, error: undefined },
      checks: [],
      verdict,
      // Hosts of the 2025 era (all that recover on 404 or not at all) cannot reach it directly.
      coping: { hostsRecoveringOn404: false, hostsWithoutRecovery: false, mcpLifeline: true },
      idle: undefined,
      eras: eraReport(modern, streamable, { speaks: null, detail: 'not checked: the server speaks 2026-07-28' }),
    };
  }
  if (modern.kind !== 'no-streamable-http') return undefined;
  let sse: Awaited<ReturnType<typeof probeSseSession>>;
  try {
    sse = await probeSseSession(options, options.version);
  } catch (error) {
    throw new ProbeConnectionError(`${refused}; nor is it an HTTP+SSE endpoint: ${networkErrorText(error)}`, { cause: error });
  }
  const server = serverFacts({
    sessionId: sse.sessionId,
    protocolVersion: sse.result['protocolVersion'] as string | undefined,
    result: sse.result,
  });
  const checks = sse.checks.map((check) => ({ ...check, excerpt: redactIds(check.excerpt, [sse.sessionId]) }));
  const verdict = decide(true, checks, options.issuesUrl);
  return {
    schemaVersion: 1,
    url: where,
    server,
    liveCheck: sse.liveCheck,
    checks,
    verdict,
    coping: coping(verdict),
    idle: undefined,
    eras: eraReport(modern, streamable, { speaks: true, detail: 'GET opened an SSE stream that named its POST endpoint' }),
  };
}

async function lostSessionAnswers(target: ProbeTarget, session: OpenedSession): Promise<Check[]> {
  // ping: every MCP server must answer it, whatever it offers.
  const ping = (id: string) => ({ jsonrpc: '2.0', id, method: 'ping' });
  const bogus = neverIssuedSessionId();
  const checks: Check[] = [
    await checkAnswer(target, 'unknown-session', 'POST ping with a never-issued session id', {
      method: 'POST',
      headers: sessionHeaders(bogus, session.protocolVersion),
      body: ping('probe-unknown-session'),
    }),
    await checkAnswer(target, 'no-session', 'POST ping without a session id', {
      method: 'POST',
      headers: sessionHeaders(undefined, session.protocolVersion),
      body: ping('probe-no-session'),
    }),
    await checkAnswer(target, 'get-unknown-session', 'GET (event stream) with a never-issued session id', {
      method: 'GET',
      headers: sessionHeaders(bogus, session.protocolVersion),
    }),
  ];
  if (session.sessionId === undefined) return checks;

  const own = sessionHeaders(session.sessionId, session.protocolVersion);
  const deleted = await checkAnswer(target, 'delete-own-session', 'DELETE of its own session', { method: 'DELETE', headers: own });
  const terminated = deleted.status !== null && deleted.status >= 200 && deleted.status < 300;
  checks.push({
    ...deleted,
    lost: false,
    rule: undefined,
    note: terminated
      ? 'session terminated'
      : deleted.status === 405
        ? 'HTTP 405: the server does not let clients end sessions (the spec allows this); the probe cannot close its session'
        : `the session was not terminated (${deleted.status === null ? deleted.error : `HTTP ${deleted.status}`})`,
  });
  if (terminated) {
    checks.push(
      await checkAnswer(target, 'terminated-session', 'POST ping on the session it just terminated', {
        method: 'POST',
        headers: own,
        body: ping('probe-terminated-session'),
      }),
    );
  }
  return checks;
}

/** The verdict rests on the answers a real client meets: its lost id, on POST, then GET. */
function decide(sessionIssued: boolean, checks: readonly Check[], issuesUrl: string): Verdict {
  if (!sessionIssued) {
    return {
      kind: 'stateless',
      rule: undefined,
      summary:
        'The server issued no session id: it is stateless (or speaks the 2026-07-28 revision, which has no sessions). ' +
        'There is no session to lose, so idle timeouts and restarts cannot break clients; mcp-lifeline passes its traffic through untouched.',
    };
  }
  const deciding = ['unknown-session', 'terminated-session', 'get-unknown-session'].flatMap((name) =>
    checks.filter((check) => check.name === name),
  );
  const loss = deciding.find((check) => check.lost);
  const unknown = checks.find((check) => check.name === 'unknown-session');
  // Served (a result, or an error about the message itself): the id was taken as valid.
  if (loss === undefined && unknown?.status !== null && unknown !== undefined && unknown.status >= 200 && unknown.status < 300) {
    return {
      kind: 'accepts-unknown-session',
      rule: undefined,
      summary:
        'The server answered a never-issued session id as if it were valid: it does not enforce sessions (or opens one on demand), ' +
        'so clients do not break when their session is forgotten; mcp-lifeline passes its traffic through.',
    };
  }
  if (loss === undefined) {
    const evidence = deciding.map((check) => `${check.request}: ${check.status ?? check.error} ${check.excerpt}`).join('; ');
    return {
      kind: 'not-recognised',
      rule: undefined,
      summary:
        `Not recognised: mcp-lifeline cannot tell this server's lost-session answer from other errors. ` +
        `Please report it at ${issuesUrl} with the --json report, or this evidence: ${evidence}`,
    };
  }
  const all404 = deciding.filter((check) => check.status !== null).every((check) => check.status === 404);
  if (all404) {
    return {
      kind: 'spec-404',
      rule: loss.rule,
      summary:
        'Spec-compliant: a lost session is answered with 404, so hosts that re-initialize on 404 recover; mcp-lifeline recognises it too (rule spec-404).',
    };
  }
  return {
    kind: 'recognised-non-404',
    rule: loss.rule,
    summary:
      `Answers ${loss.status} instead of 404: hosts that recover only on 404 will break after every idle timeout or restart; ` +
      `mcp-lifeline recognises it (rule ${loss.rule}).`,
  };
}

function coping(verdict: Verdict): Coping {
  const stateless = verdict.kind === 'stateless' || verdict.kind === 'accepts-unknown-session';
  return {
    hostsRecoveringOn404: stateless || verdict.kind === 'spec-404',
    hostsWithoutRecovery: stateless,
    mcpLifeline: verdict.kind !== 'not-recognised',
  };
}

function serverFacts(session: OpenedSession): ServerFacts {
  const info = (session.result['serverInfo'] ?? {}) as { name?: unknown; version?: unknown };
  const capabilities = (session.result['capabilities'] ?? {}) as Record<string, unknown>;
  return {
    name: typeof info.name === 'string' ? info.name : undefined,
    version: typeof info.version === 'string' ? info.version : undefined,
    protocolVersion: session.protocolVersion,
    sessionIssued: session.sessionId !== undefined,
    sessionId: session.sessionId === undefined ? undefined : redactSessionId(session.sessionId),
    capabilities: Object.entries(capabilities).map(([name, value]) => {
      const flags =
        typeof value === 'object' && value !== null
          ? Object.keys(value).filter((flag) => (value as Record<string, unknown>)[flag] === true)
          : [];
      return flags.length === 0 ? name : `${name} (${flags.join(', ')})`;
    }),
  };
}

/** Why the probe could not even start, in words that say what to do. */
function connectionErrorText(error: unknown, where: string, timeoutMs: number): string {
  if (speaksForItself(error)) return error.message;
  const { status, body } = error as { status?: unknown; body?: unknown };
  if (typeof status === 'number') return httpErrorText(status, typeof body === 'string' ? body : '', where);
  if (error instanceof ProbeConnectionError) {
    const type = /content type ([^)]+)\)/.exec(error.message)?.[1];
    return type !== undefined && type !== 'application/json' && type !== 'text/event-stream'
      ? `${where} is not an MCP endpoint: it answered initialize with ${type}`
      : `${where}: ${error.message}`;
  }
  return `cannot reach ${where}: ${networkErrorText(error, timeoutMs)}`;
}
