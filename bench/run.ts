// npm run bench [-- --quick] [-- --only NAME]
//
// Speed and memory of mcp-lifeline, each figure against a baseline measured in the same run:
// middleware overhead, bridge overhead (vs mcp-remote and direct HTTP), recovery cost, stampede,
// cost growth with subscriptions and response size, the serve gateway (vs the bare pass-through
// proxy, one replica and two on Redis, the time it adds to initialize). Servers run on 127.0.0.1
// and are stopped by the bench. Prints a table, with the machine, Node version, date and load
// average; writes bench/results.json.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Figure } from './figures.js';
import { describeMachine, renderTable, writeResults } from './results.js';
import { bridgeOverhead } from './scenario-bridge.js';
import { bridgeMemory } from './scenario-bridge-memory.js';
import { gatewayOverhead } from './scenario-gateway.js';
import { responseSizeGrowth, subscriptionGrowth } from './scenario-growth.js';
import { middlewareOverhead } from './scenario-overhead.js';
import { recoveryCost } from './scenario-recovery.js';
import { stampede } from './scenario-stampede.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' } } });
const quick = values.quick ?? false;
if ((globalThis as { gc?: unknown }).gc === undefined) {
  process.stderr.write('bench: run with node --expose-gc (npm run bench does) for exact allocation figures\n');
}

// The SDK transport as it ships passes one signal to every request, and Node 20's fetch leaves a
// listener on it per request (why `direct` is measured both ways): after 1500 calls Node warns once
// per call. Said once here, not 1500 times.
process.removeAllListeners('warning');
let listenersWarned = false;
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') {
    if (listenersWarned) return;
    listenersWarned = true;
  }
  process.stderr.write(`bench: ${warning.name}: ${warning.message}\n`);
});

const started = performance.now();
// The machine is shared: its load average before and after says how far the figures can be trusted.
const loadBefore = loadavg()[0] ?? Number.NaN;
const figures: Figure[] = [];
const scenarios: [string, () => Promise<Figure[]>][] = [
  ['middleware overhead', () => middlewareOverhead(quick ? 500 : 1500)],
  // Each round starts a new bridge: after 1000 calls V8 still spent about 1 M instructions a call
  // compiling on the other core (callgrind: 1.52 M a call in all, 0.50 M on the main thread; after
  // 10,000 calls 0.33 M and 0.33 M), so the bridges are warmed for 5000.
  ['bridge overhead', () => bridgeOverhead({ calls: quick ? 200 : 400, rounds: quick ? 2 : 5, warmUp: quick ? 200 : 5000 })],
  ['bridge memory', () => bridgeMemory()],
  ['recovery cost', () => recoveryCost(quick ? 10 : 50)],
  ['stampede', () => stampede(quick ? [10, 100] : [10, 100, 1000])],
  ['subscriptions', () => subscriptionGrowth(quick ? 300 : 800)],
  ['response sizes', () => responseSizeGrowth(quick)],
  [
    'gateway',
    () =>
      gatewayOverhead({
        calls: quick ? { 1: 200, 8: 200 } : { 1: 1200, 8: 3200 },
        rounds: quick ? 2 : 7,
        // V8 goes on optimizing serve's functions for about 9000 calls (--trace-opt: 19 functions
        // between calls 3000 and 6000, 8 up to 9000, 4 up to 12000), on the other core.
        warmUp: quick ? 300 : 10_000,
        initializes: quick ? 60 : 1500,
        initializeWarmUp: quick ? 60 : 3000,
        idleSessions: quick ? 200 : 1000,
      }),
  ],
];
// `--only NAME` runs the scenarios whose name contains NAME (e.g. `--only gateway`).
for (const [name, run] of scenarios.filter(([name]) => values.only === undefined || name.includes(values.only))) {
  process.stderr.write(`bench: ${name}…\n`);
  const began = performance.now();
  figures.push(...(await run()));
  process.stderr.write(`bench: ${name} took ${Math.round((performance.now() - began) / 1000)} s\n`);
}
const seconds = Math.round((performance.now() - started) / 1000);
const load = { before: loadBefore, after: loadavg()[0] ?? Number.NaN };
process.stdout.write(renderTable(figures));
const path = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
writeResults(path, figures, { quick, seconds, load });
const missed = figures.filter((item) => item.met === false).length;
process.stdout.write(
  `\n${figures.length} figures in ${seconds} s on Node ${process.version}, ${describeMachine()}, ${new Date().toISOString().slice(0, 10)}; load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after; ${missed} goal(s) not met; written to bench/results.json\n`,
);
