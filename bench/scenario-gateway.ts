// 6. Gateway: `mcp-lifeline serve` against the floor of any Node gateway, the bare pass-through
// proxy (bench/floor-proxy.ts, its own process), in one run with the alternatives interleaved:
// calls/s with 1 and 8 callers, the CPU each hop spends per call, two replicas on Redis against
// one (and two bare proxies taking turns against one: this machine's floor for that), and the time
// serve adds to a session's initialize; a direct connection as the reference.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../src/gateway/gateway.js';
import { redisMissing, startRedis } from '../test/helpers/redis.js';
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, httpClient, increment, LIFELINE_CLI, perRequestSignal } from './clients.js';
import { type Figure, figure } from './figures.js';
import { initializeAndEnd, initializeBody, MCP_POST_HEADERS } from './initialize-pair.js';
import { peakRss, throughput } from './measure.js';
import { type NodeChild, startNodeChild } from './node-child.js';
import { median, percentile, round, spread } from './stats.js';

const SCENARIO = '6. gateway (serve)';
const FLOOR_PROXY = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));
const CALLERS = [1, 8] as const;

/** One way to reach the upstream: its client, and the processes that carry the calls (whose CPU is counted). */
interface Hop {
  readonly name: 'direct' | 'proxy' | '2 proxies' | 'serve' | 'serve on Redis' | '2 replicas';
  readonly client: BenchClient;
  readonly processes: readonly NodeChild[];
}

/** Calls/s of each hop per round and caller count, and the CPU its processes spent on those calls. */
type Tally = Record<Hop['name'], { rates: Record<number, number[]>; cpuSeconds: number; calls: number }>;

export async function gatewayOverhead(options: {
  /** Calls of one measured run, by the number of callers. */
  calls: Record<(typeof CALLERS)[number], number>;
  rounds: number;
  /** Calls through each hop before anything is measured: a gateway runs for days, its code compiled (JIT) and its pools full. */
  warmUp: number;
  initializes: number;
  /** Sessions opened through each hop before the initialize figures are timed. */
  initializeWarmUp: number;
  idleSessions: number;
}): Promise<Figure[]> {
  const server = await startServerProcess({ jsonResponse: true });
  const keyFile = join(tmpdir(), `bench-serve-keys-${randomBytes(4).toString('hex')}`);
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const stops: (() => Promise<void>)[] = [];
  const figures: Figure[] = [];
  try {
    // First, while this process holds no clients (see memoryPerSession).
    const perSession = await memoryPerSession(server.url, options.idleSessions);
    const hops: Hop[] = [];
    const add = async (name: Hop['name'], processes: NodeChild[], client: Promise<BenchClient>) => {
      for (const child of processes) stops.push(child.stop);
      const opened = await client;
      stops.push(opened.close);
      hops.push({ name, client: opened, processes });
    };
    // Every client sends with a per-request signal: the hop is what is measured, not the SDK's signal pile-up.
    const client = (origin: string, fetch: typeof globalThis.fetch = perRequestSignal) =>
      httpClient(`${origin}/mcp`, { lifeline: false, fetch });
    const proxy = await startNodeChild([FLOOR_PROXY, server.url]);
    const serve = await startNodeChild([LIFELINE_CLI, 'serve', server.url, '--port', '0']);
    // In this order, so that the hops a goal compares run next to each other (interleavedRates).
    await add('direct', [], httpClient(server.url, { lifeline: false, fetch: perRequestSignal }));
    // The floor of the replica goal: two bare proxies taking turns cost this machine as much (each
    // process's caches are cold on its turn), with nothing shared.
    const proxies = [await startNodeChild([FLOOR_PROXY, server.url]), await startNodeChild([FLOOR_PROXY, server.url])];
    await add('2 proxies', proxies, client(proxies[0]?.origin as string, takingTurns(proxies)));
    await add('proxy', [proxy], client(proxy.origin));
    await add('serve', [serve], client(serve.origin));
    const missing = redisMissing();
    if (missing !== undefined) process.stderr.write(`bench: ${missing}; skipping the replica figures\n`);
    else {
      const redis = await startRedis();
      stops.push(redis.stop);
      const onRedis = () => startNodeChild([LIFELINE_CLI, 'serve', server.url, '--store', redis.url, '--key-file', keyFile, '--port', '0']);
      const single = await onRedis();
      await add('serve on Redis', [single], client(single.origin));
      const replicas = [await onRedis(), await onRedis()];
      // Requests alternate between the replicas: no affinity, each finds the session through the store.
      await add('2 replicas', replicas, client(replicas[0]?.origin as string, takingTurns(replicas)));
    }
    const tally = await interleavedRates(hops, options);
    figures.push(...rateFigures(tally));
    const peakMb = (child: NodeChild) => Math.round((peakRss(child.pid) ?? Number.NaN) / 2 ** 20);
    figures.push(
      figure(SCENARIO, 'reference: peak RSS, bare proxy process', peakMb(proxy), 'MB'),
      figure(SCENARIO, 'reference: peak RSS, serve process', peakMb(serve), 'MB'),
    );
    figures.push(
      ...(await initializeFigures(server.url, { proxy: proxy.origin, serve: serve.origin }, options.initializes, options.initializeWarmUp)),
    );
    figures.push(
      figure(SCENARIO, 'memory per idle session (gateway heap, after GC)', Math.round(perSession.idle), 'bytes'),
      figure(SCENARIO, 'memory per ended session (gateway heap, after GC)', Math.round(perSession.ended), 'bytes'),
    );
    return figures;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await server.close();
    rmSync(keyFile, { force: true });
  }
}

/** A fetch that sends each request to the next of `children` in turn (no affinity). */
function takingTurns(children: readonly NodeChild[]): typeof fetch {
  let turn = 0;
  return (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input.toString()).pathname;
    return perRequestSignal(`${children[turn++ % children.length]?.origin}${path}`, init);
  };
}

/**
 * Each round runs every hop with 1 and with 8 callers, the hops in a rotated order each round, so
 * that drift (the other load on the machine) lands on all of them alike, and backwards every other
 * round: the hops a goal compares (the bare proxy and serve, one replica and two) run next to each
 * other, each first as often as the other. A run is long enough that the start after its hop sat
 * idle (cold caches, a connection opened again) weighs little: with 800 calls a run and 8 callers,
 * the rounds' ratios serve / bare proxy lay up to 0.48 apart.
 */
async function interleavedRates(
  hops: readonly Hop[],
  options: { calls: Record<(typeof CALLERS)[number], number>; rounds: number; warmUp: number },
): Promise<Tally> {
  const tally = Object.fromEntries(hops.map((hop) => [hop.name, { rates: { 1: [], 8: [] }, cpuSeconds: 0, calls: 0 }])) as unknown as Tally;
  // Every process gets the same warm-up: two replicas that take turns get twice the calls.
  for (const hop of hops) await throughput(increment(hop.client.client), options.warmUp * Math.max(1, hop.processes.length), 4);
  for (let round = 0; round < options.rounds; round++) {
    const rotated = hops.map((_, index) => hops[(index + round) % hops.length] as Hop);
    const order = round % 2 === 0 ? rotated : rotated.reverse();
    for (const callers of CALLERS) {
      for (const hop of order) {
        const cpu = () => hop.processes.reduce((sum, child) => sum + child.cpuSeconds(), 0);
        const before = cpu();
        tally[hop.name].rates[callers]?.push(await throughput(increment(hop.client.client), options.calls[callers], callers));
        tally[hop.name].cpuSeconds += cpu() - before;
        tally[hop.name].calls += options.calls[callers];
      }
    }
  }
  return tally;
}

function rateFigures(tally: Tally): Figure[] {
  const figures: Figure[] = [];
  for (const callers of CALLERS) {
    const label = callers === 1 ? '1 caller' : '8 callers';
    const rates = (name: Hop['name']) => tally[name]?.rates[callers] ?? [];
    const rate = (name: Hop['name']) => median(rates(name));
    // A ratio is the median over rounds of the two hops' ratio within a round: the two ran
    // seconds apart, so load that came and went between rounds cancels out of each ratio.
    const perRound = (candidate: Hop['name'], baseline: Hop['name']) =>
      rates(candidate).map((value, index) => value / (rates(baseline)[index] ?? Number.NaN));
    const ratio = (candidate: Hop['name'], baseline: Hop['name']) => median(perRound(candidate, baseline));
    // How far the rounds' ratios lie apart: with one caller, more than the distance to a goal.
    const apart = (candidate: Hop['name'], baseline: Hop['name']) => round(spread(perRound(candidate, baseline)));
    const serveRatio = ratio('serve', 'proxy');
    figures.push(
      figure(SCENARIO, `calls/s direct (reference), ${label}`, Math.round(rate('direct')), 'calls/s'),
      figure(SCENARIO, `calls/s via the bare proxy, ${label}`, Math.round(rate('proxy')), 'calls/s'),
      figure(SCENARIO, `calls/s via serve, ${label}`, Math.round(rate('serve')), 'calls/s'),
      figure(SCENARIO, `ratio serve / bare proxy, ${label}`, round(serveRatio), '×', { text: '≥ 0.95', met: serveRatio >= 0.95 }),
      figure(SCENARIO, `reference: spread of the rounds' ratios serve / bare proxy, ${label}`, apart('serve', 'proxy'), '×'),
      figure(SCENARIO, `reference: ratio serve / direct, ${label}`, round(ratio('serve', 'direct')), '×'),
    );
    if (tally['2 replicas'] !== undefined) {
      const replicas = ratio('2 replicas', 'serve on Redis');
      figures.push(
        figure(SCENARIO, `calls/s via 1 replica on Redis, ${label}`, Math.round(rate('serve on Redis')), 'calls/s'),
        figure(SCENARIO, `calls/s via 2 replicas on Redis, ${label}`, Math.round(rate('2 replicas')), 'calls/s'),
        figure(SCENARIO, `ratio 2 replicas / 1 replica on Redis, ${label}`, round(replicas), '×', {
          text: '≥ 0.9',
          met: replicas >= 0.9,
        }),
        figure(
          SCENARIO,
          `reference: spread of the rounds' ratios 2 replicas / 1 replica, ${label}`,
          apart('2 replicas', 'serve on Redis'),
          '×',
        ),
        figure(SCENARIO, `reference: ratio 2 replicas on Redis / serve (memory store), ${label}`, round(ratio('2 replicas', 'serve')), '×'),
        figure(SCENARIO, `reference: ratio 2 bare proxies taking turns / 1 bare proxy, ${label}`, round(ratio('2 proxies', 'proxy')), '×'),
      );
    }
  }
  const cpuMs = (name: Hop['name']) => (tally[name].cpuSeconds / Math.max(1, tally[name].calls)) * 1000;
  const serveCpu = cpuMs('serve');
  const proxyCpu = cpuMs('proxy');
  figures.push(
    figure(SCENARIO, 'CPU per call, bare proxy process', round(proxyCpu), 'ms'),
    figure(SCENARIO, 'CPU per call, serve process', round(serveCpu), 'ms'),
    figure(SCENARIO, 'ratio CPU per call serve / bare proxy', round(serveCpu / proxyCpu), '×', {
      text: '≤ 1.3',
      met: serveCpu <= 1.3 * proxyCpu,
    }),
  );
  figures.push(figure(SCENARIO, 'reference: CPU per call, 2 bare proxies taking turns (both processes)', round(cpuMs('2 proxies')), 'ms'));
  if (tally['2 replicas'] !== undefined)
    figures.push(figure(SCENARIO, 'CPU per call, 2 replicas on Redis (both processes)', round(cpuMs('2 replicas')), 'ms'));
  return figures;
}

/**
 * The time serve adds to a new session's `initialize` (the client's POST until its answer is read):
 * direct, through the bare proxy and through serve, one session of each in turn, in an order that
 * rotates (each goes first, second and third alike); each session is ended (DELETE) after it was
 * timed, outside the measure. (In blocks of 10 and 500 sessions a hop, the p99, the 5th-largest
 * sample, moved from -0.8 to +4.3 ms between two runs on an idle machine.)
 */
async function initializeFigures(
  upstream: string,
  origins: { proxy: string; serve: string },
  count: number,
  warmUp: number,
): Promise<Figure[]> {
  const targets = { direct: upstream, proxy: `${origins.proxy}/mcp`, serve: `${origins.serve}/mcp` };
  const samples: Record<keyof typeof targets, number[]> = { direct: [], proxy: [], serve: [] };
  const open = initializeAndEnd;
  // Warm-up: a gateway opens sessions all day long, its code compiled (JIT) and its pools full.
  // V8 goes on optimizing serve's session code for a few thousand sessions (--trace-opt); timed
  // before that, the p99 is the compiler's (after 200: serve added 3.0 ms at p99, after 3000: -0.5).
  for (let i = 0; i < warmUp; i++) for (const url of Object.values(targets)) await open(url);
  const names = Object.keys(targets) as (keyof typeof targets)[];
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length] as keyof typeof targets;
      samples[name].push(await open(targets[name]));
    }
  }
  const at = (name: keyof typeof samples, fraction: number) => percentile(samples[name], fraction);
  const added = (fraction: number) => at('serve', fraction) - at('direct', fraction);
  return [
    figure(SCENARIO, 'initialize, median: direct', round(at('direct', 0.5)), 'ms'),
    figure(SCENARIO, 'initialize, median: via the bare proxy', round(at('proxy', 0.5)), 'ms'),
    figure(SCENARIO, 'initialize, median: via serve', round(at('serve', 0.5)), 'ms'),
    figure(SCENARIO, 'time serve adds to initialize, median', round(added(0.5)), 'ms', { text: '< 1', met: added(0.5) < 1 }),
    figure(SCENARIO, 'time serve adds to initialize, p99', round(added(0.99)), 'ms', { text: '< 1', met: added(0.99) < 1 }),
    figure(SCENARIO, 'reference: serve - bare proxy at initialize, median', round(at('serve', 0.5) - at('proxy', 0.5)), 'ms'),
    figure(SCENARIO, 'reference: serve - bare proxy at initialize, p99', round(at('serve', 0.99) - at('proxy', 0.99)), 'ms'),
    // The floor of the p99 goal: what a hop that does nothing but forward adds on this machine.
    figure(SCENARIO, 'reference: bare proxy - direct at initialize, p99', round(at('proxy', 0.99) - at('direct', 0.99)), 'ms'),
  ];
}

/**
 * Heap the gateway keeps per session opened (initialize + initialized) and left idle, and per
 * session opened and then ended by its client (DELETE): a gateway in
 * this process, measured after full collections (the upstream runs in its own process, and no
 * client object is kept, so what stays is the gateway's: for an idle session its token cache
 * entry, store record, binding and the middleware's session record; for an ended one, its
 * tombstone, and what the token cache and the middleware hold until newer sessions push it out).
 */
async function memoryPerSession(upstreamUrl: string, sessions: number): Promise<{ idle: number; ended: number }> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return { idle: Number.NaN, ended: Number.NaN };
  const gateway = await startGateway({ port: 0, upstreams: [{ name: 'bench', url: new URL(upstreamUrl) }], maxRecords: sessions * 2 });
  try {
    const url = `${gateway.origin}/mcp`;
    const headers = MCP_POST_HEADERS;
    const open = async (index: number, end: boolean) => {
      const init = await fetch(url, { method: 'POST', headers, body: initializeBody(`idle-${index}`) });
      const session = init.headers.get('mcp-session-id') ?? '';
      await init.text();
      const done = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': session },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      });
      await done.text();
      if (end) await (await fetch(url, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': session } })).text();
    };
    const batch = async (from: number, count: number, end: boolean) => {
      for (let index = from; index < from + count; index += 20)
        await Promise.all(Array.from({ length: 20 }, (_, offset) => open(index + offset, end)));
    };
    /** Heap kept per session of a batch, after full collections. */
    const keptPerSession = async (from: number, end: boolean) => {
      collect();
      collect();
      const before = process.memoryUsage().heapUsed;
      await batch(from, sessions, end);
      collect();
      collect();
      return (process.memoryUsage().heapUsed - before) / sessions;
    };
    await batch(0, 40, true); // warm-up: connection pools, JIT, caches
    const idle = await keptPerSession(40, false);
    // Ended (DELETE): the tombstone that refuses the id on every replica stays, with what is not let go of at the end.
    const ended = await keptPerSession(40 + sessions, true);
    return { idle, ended };
  } finally {
    await gateway.shutdown('bench over');
  }
}
