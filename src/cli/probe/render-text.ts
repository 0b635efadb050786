import { formatDuration } from '../duration-text.js';
import type { Paint } from '../paint.js';
import type { IdleProgress } from './measure-idle.js';
import type { Check, EraReport, EraSupport, ProbeReport } from './report.js';

/** The report as a reader wants it on a terminal. */
export function renderText(report: ProbeReport, paint: Paint): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(22)} ${value}`);
  const { server } = report;

  lines.push(paint.bold(`mcp-lifeline probe: ${report.url}`), '', paint.bold('Server'));
  row('name / version', `${server.name ?? '(no name)'} ${server.version ?? ''}`.trim());
  row('protocol version', server.protocolVersion ?? '(none)');
  row('session id', server.sessionIssued ? `issued (${server.sessionId})` : 'none: a stateless server');
  row('capabilities', server.capabilities.length === 0 ? '(none)' : server.capabilities.join(', '));

  lines.push(...renderEras(report.eras, paint));

  lines.push('', paint.bold('Live session'));
  const live = report.liveCheck;
  row(
    live.request.replace(/^POST | on the live session$/g, ''),
    live.status === null ? `failed: ${live.error}` : `HTTP ${live.status}: ${live.excerpt}`,
  );

  lines.push('', paint.bold('How it answers a lost session'));
  for (const check of report.checks) lines.push(...renderCheck(check, paint));
  if (report.checks.length === 0) lines.push(paint.dim('  nothing to check: the server has no sessions'));

  lines.push('', paint.bold('Verdict'));
  const good = report.verdict.kind !== 'not-recognised';
  lines.push(`  ${good ? paint.green(report.verdict.summary) : paint.red(report.verdict.summary)}`);

  lines.push('', paint.bold('Who copes with it'));
  const yes = (value: boolean) => (value ? paint.green('yes') : paint.red('no'));
  const copes = (who: string, value: boolean) => lines.push(`  ${who.padEnd(64)} ${yes(value)}`);
  copes('hosts that re-initialize on 404 (opencode, mcp-remote, Codex)', report.coping.hostsRecoveringOn404);
  copes('hosts that never re-initialize (official TS and Python SDKs)', report.coping.hostsWithoutRecovery);
  copes('any host through mcp-lifeline', report.coping.mcpLifeline);

  if (report.idle !== undefined) {
    lines.push('', paint.bold('Idle timeout'));
    lines.push(`  tried ${report.idle.stepsMs.map(formatDuration).join(', ')}`);
    lines.push(`  ${report.idle.summary}`);
    if (report.idle.keepalive !== undefined)
      lines.push(`  keep sessions alive from the start: mcp-lifeline ${report.url} --keepalive ${report.idle.keepalive}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Which eras and transports the server speaks, with the evidence for each. */
function renderEras(eras: EraReport, paint: Paint): string[] {
  const support = (value: EraSupport) =>
    value.speaks === true ? paint.green('yes') : value.speaks === false ? paint.red('no') : paint.dim('not checked');
  const row = (label: string, value: EraSupport) => [`  ${label.padEnd(22)} ${support(value)}`, paint.dim(`      ${value.detail}`)];
  return [
    '',
    paint.bold('Protocol eras and transports'),
    ...row('2026-07-28 stateless', eras.modern),
    ...row('2025 Streamable HTTP', eras.streamableHttp),
    ...row('2024-11-05 HTTP+SSE', eras.httpSse),
    `  ${'mcp-lifeline <url>'.padEnd(22)} speaks ${eras.auto}`,
  ];
}

function renderCheck(check: Check, paint: Paint): string[] {
  const status = check.status === null ? 'no answer' : `HTTP ${check.status}`;
  const type = check.contentType === null ? '' : ` ${check.contentType.split(';')[0]}`;
  const verdict =
    check.name === 'delete-own-session'
      ? (check.note ?? '')
      : check.lost
        ? paint.green(`lost session, rule ${check.rule}`)
        : check.status === null
          ? paint.red(`request failed: ${check.error}`)
          : paint.yellow(`not recognised as session loss${check.note === undefined ? '' : ` (${check.note})`}`);
  const lines = [`  ${check.request}`, `      ${status}${type} → ${verdict}`];
  if (check.excerpt !== '') lines.push(paint.dim(`      ${check.excerpt}`));
  return lines;
}

/** One progress line for --idle on a terminal, rewritten in place. */
export function renderProgress(progress: IdleProgress): string {
  const survived = progress.survivedMs === 0 ? '' : `; survived ${formatDuration(progress.survivedMs)} so far`;
  return `\r\u001b[2Kidle: leaving the session idle for ${formatDuration(progress.stepMs)}, ${formatDuration(progress.remainingMs)} left${survived} (Ctrl-C stops and reports)`;
}
