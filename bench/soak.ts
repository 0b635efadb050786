// npm run soak [-- --calls N --concurrency C --seed S | --short]
//
// Fault-injection soak: a non-idempotent tool is called through the middleware (SDK v1 and v2
// clients in this process) and through the stdio bridge (child processes), while a chaos driver
// drops sessions in every dialect, restarts the server process, refuses connections, slows
// answers, cuts SSE streams mid-event and sends malformed or truncated bodies. At the end it
// checks that every call got exactly one answer, nothing ran twice, failures happened only where
// the chaos explains them (each with a clear message), no handle leaked and RSS stayed flat.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChaosLog, driveChaos } from './soak-chaos.js';
import { type Outcome, runBridgePhase, runMiddlewarePhase } from './soak-clients.js';
import { startSoakServer } from './soak-server-process.js';
import { judge, printVerdict } from './soak-verdict.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string' },
    concurrency: { type: 'string' },
    seed: { type: 'string' },
    short: { type: 'boolean' },
  },
});
const calls = Number(values.calls ?? (values.short ? 3000 : 20_000));
const concurrency = Number(values.concurrency ?? 16);
const seed = Number(values.seed ?? Date.now() % 1_000_000);
if (!Number.isInteger(calls) || calls < 2 || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: soak [--calls N (≥ 2)] [--concurrency C (≥ 1)] [--seed S] [--short]\n');
  process.exit(2);
}

const handlesAtStart = activeHandles();
const executionLog = join(tmpdir(), `mcp-lifeline-soak-${process.pid}.log`);
const rss: number[] = [];
// With --expose-gc (as `npm run soak` runs it), sample after a full collection: RSS then tracks
// live memory, not how lazily the collector runs.
const collect = (globalThis as { gc?: () => void }).gc;
const sampler = setInterval(() => {
  collect?.();
  rss.push(process.memoryUsage().rss);
}, 1000);

process.stdout.write(`soak: ${calls} calls, concurrency ${concurrency}, seed ${seed}\n`);
const server = await startSoakServer(executionLog);
const chaos: ChaosLog = { windows: [], drops: [], faults: {} };
const outcomes: Outcome[] = [];
const startedAt = Date.now();
const bridgeExits: (number | null)[] = [];
const events: Record<string, number> = {};
const countEvent = (event: { type: string }) => {
  events[event.type] = (events[event.type] ?? 0) + 1;
};
try {
  for (const phase of ['middleware', 'bridge'] as const) {
    const startChaos = () => driveChaos(server, chaos, seed + (phase === 'bridge' ? 1 : 0));
    const share = phase === 'middleware' ? Math.ceil(calls / 2) : Math.floor(calls / 2);
    const started = Date.now();
    if (phase === 'middleware') outcomes.push(...(await runMiddlewarePhase(server.url(), share, concurrency, startChaos, countEvent)));
    else {
      const result = await runBridgePhase(server.url(), share, concurrency, startChaos);
      outcomes.push(...result.outcomes);
      bridgeExits.push(...result.exitCodes);
    }
    process.stdout.write(`  ${phase}: ${share} calls in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
} finally {
  await server.stop();
  clearInterval(sampler);
}

const executions = readExecutions(executionLog);
rmSync(executionLog, { force: true });
await settle();
const verdict = judge({
  outcomes,
  sent: calls,
  executions,
  sabotaged: server.sabotaged(),
  chaos,
  rss,
  handlesAtStart,
  handlesAtEnd: activeHandles(),
  bridgeExits,
  events,
  seconds: (Date.now() - startedAt) / 1000,
});
printVerdict(verdict, process.stdout);
process.exitCode = verdict.passed ? 0 : 1;

function readExecutions(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // no execution at all
  }
  for (const key of text.split('\n')) if (key !== '') counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Handle counts by type; the stdio streams of this process are excluded (always open). */
function activeHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Lets closed sockets and finished timers leave the event loop before handles are counted. */
async function settle(): Promise<void> {
  for (let round = 0; round < 20; round++) await new Promise((resolve) => setTimeout(resolve, 50));
}
