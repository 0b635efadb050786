import type { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startDialectServer } from '../demo/dialect-server.js';
import { DIALECTS, type Dialect } from '../demo/dialects.js';
import type { LifelineEvent, SessionLostEvent } from '../recovery/events.js';
import { withSessionRecovery } from '../recovery/with-session-recovery.js';
import { sleep } from '../shared/timers.js';
import { type Paint, painter } from './paint.js';
import { plural } from './plural.js';

/** The dialects the demo server rotates through, one per dropped session. */
const ROTATION: readonly Dialect[] = ['spec-404', 'text-400', 'jsonrpc-400', 'missing-session-id-400', 'jsonrpc-200', 'sse-200'];

export interface DemoOptions {
  readonly durationMs: number;
  readonly intervalMs: number;
  readonly dropEvery: number;
  readonly withoutLifeline: boolean;
  readonly color: boolean;
  readonly out: Writable;
}

/** What the demo measured; `passed` when every call succeeded and nothing ran twice. */
export interface DemoSummary {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly sessionsDropped: number;
  readonly recoveries: number;
  readonly executions: number;
  readonly duplicatedExecutions: number;
  readonly passed: boolean;
}

/**
 * Runs an embedded server that drops every session after a few calls, answering in a different
 * dialect each time, and the official SDK client calling a non-idempotent tool against it, with
 * or without mcp-lifeline. Prints each call and recovery, then the summary.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const paint = painter(options.color);
  const print = (line: string) => options.out.write(`${line}\n`);
  const server = await startDialectServer({ dropEvery: options.dropEvery, rotate: ROTATION });
  let recoveries = 0;
  let lastLoss: SessionLostEvent | undefined;

  const onEvent = (event: LifelineEvent) => {
    if (event.type === 'session-lost') lastLoss = event;
    if (event.type === 'reinitialized') {
      recoveries += 1;
      const loss = lastLoss;
      print(
        paint.yellow(
          `        ↻ session lost (${loss?.method ?? '?'} ${loss?.rpcMethod ?? 'event stream'} → HTTP ${loss?.status ?? '?'}, rule ${loss?.rule ?? '?'}); ` +
            `re-initialized in ${event.durationMs} ms, replaying`,
        ),
      );
    }
    if (event.type === 'recovery-failed') print(paint.red(`        ✗ recovery failed: ${event.message}`));
  };

  print(paint.bold(`mcp-lifeline demo${options.withoutLifeline ? ' (WITHOUT mcp-lifeline)' : ''}`));
  print(`  server  ${server.url}: drops every session after ${plural(options.dropEvery, 'call')}, then answers in turn:`);
  for (const dialect of ROTATION) {
    const answer = DIALECTS[dialect](1);
    const body = answer.body.replace(/\n/g, '\\n');
    print(paint.dim(`          ${dialect.padEnd(24)} HTTP ${answer.status} ${answer.contentType.split(';')[0]} ${body.slice(0, 80)}`));
  }
  print(
    `  client  official MCP SDK client${options.withoutLifeline ? '' : ' + withSessionRecovery()'}, calling "increment" for ${options.durationMs / 1000} s`,
  );
  print('');

  const fetchFn = options.withoutLifeline ? fetch : withSessionRecovery({ onEvent })(fetch);
  const client = new Client({ name: 'mcp-lifeline-demo', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { fetch: fetchFn });
  let calls = 0;
  let succeeded = 0;
  try {
    await client.connect(transport);
    const deadline = Date.now() + options.durationMs;
    while (Date.now() < deadline) {
      calls += 1;
      const key = `call-${calls}`;
      const started = Date.now();
      try {
        const result = await client.callTool({ name: 'increment', arguments: { key } });
        const text = (result.content as { type: string; text?: string }[])[0]?.text ?? '';
        succeeded += 1;
        print(`  ${paint.green('✓')} #${String(calls).padEnd(4)} increment → ${text.padEnd(5)} ${paint.dim(`${Date.now() - started} ms`)}`);
      } catch (error) {
        print(`  ${paint.red('✗')} #${String(calls).padEnd(4)} increment failed: ${firstLine(error)}`);
      }
      await sleep(options.intervalMs, { onAbort: 'resolve' });
    }
  } finally {
    await client.close().catch(() => {});
    await server.close();
  }

  const duplicated = [...server.counters.executionsByKey.values()].filter((count) => count > 1).length;
  const summary: DemoSummary = {
    calls,
    succeeded,
    failed: calls - succeeded,
    sessionsDropped: server.counters.drops,
    recoveries,
    executions: server.counters.executions,
    duplicatedExecutions: duplicated,
    passed: calls > 0 && succeeded === calls && duplicated === 0 && server.counters.executions === succeeded,
  };
  printSummary(summary, paint, print);
  return summary;
}

function printSummary(summary: DemoSummary, paint: Paint, print: (line: string) => void): void {
  print('');
  print(paint.bold('Summary'));
  print(`  calls made              ${summary.calls}`);
  print(`  succeeded               ${summary.succeeded}`);
  print(`  failed                  ${summary.failed}`);
  const unmet = summary.sessionsDropped - summary.recoveries;
  print(
    `  sessions lost           ${summary.sessionsDropped} (dropped by the server${unmet === 1 ? '; the last one after the last call' : ''})`,
  );
  print(`  recoveries              ${summary.recoveries}`);
  print(
    `  duplicated executions   ${summary.duplicatedExecutions} (server counted ${summary.executions} executions for ${summary.succeeded} successful calls)`,
  );
  print(
    summary.passed
      ? paint.green('  PASS: every call succeeded and nothing ran twice')
      : paint.red(`  FAIL: ${plural(summary.failed, 'call')} failed, ${summary.duplicatedExecutions} ran twice`),
  );
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').slice(0, 160);
}
