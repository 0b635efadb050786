// 6. Gateway overhead: the official client over HTTP straight to the upstream, vs through
// `mcp-lifeline serve` (one process, memory store), vs through two `serve` replicas sharing a
// redis-server (requests alternating between them, no affinity). Calls/s with 1 and 8 callers,
// latency added at the median and p99, and the gateway's memory per idle session.
import { type ChildProcess, spawn } from 'node:child_process';
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
import { compareLatency, throughput } from './measure.js';
import { round } from './stats.js';

const SCENARIO = '6. gateway (serve)';
const FLOOR_PROXY = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));

interface ServeChild {
  readonly origin: string;
  stop(): Promise<void>;
}

export async function gatewayOverhead(calls: number, idleSessions: number): Promise<Figure[]> {
  // The upstream in its own process, as in the bridge scenarios: the bench process holds the clients only.
  const server = await startServerProcess({ jsonResponse: true });
  const keyFile = join(tmpdir(), `bench-serve-keys-${randomBytes(4).toString('hex')}`);
  writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const stops: (() => Promise<void>)[] = [];
  const figures: Figure[] = [];
  try {
    // First, while this process holds no clients: the SDK clients leave listeners that undici drops
    // from a FinalizationRegistry, after collections, so the heap would shrink under the measure.
    const perSession = await memoryPerSession(server.url, idleSessions);
    const single = await startServe([server.url]);
    stops.push(single.stop);
    const direct = await httpClient(server.url, { lifeline: false });
    const gateway = await httpClient(`${single.origin}/mcp`, { lifeline: false });
    stops.push(direct.close, gateway.close);
    await warm(direct, gateway, calls);

    // The stricter baseline (no listener pile-up on the SDK's signal, see perRequestSignal).
    const strict = await httpClient(server.url, { lifeline: false, fetch: perRequestSignal });
    stops.push(strict.close);
    await warm(strict, gateway, calls);
    for (const [label, ratio] of await rateRatios(strict, gateway, calls)) {
      figures.push(figure(SCENARIO, `reference: serve / direct with per-request signals, ${label}`, round(ratio), '×'));
    }

    // What one hop through Node costs at all: the reference the serve ratios are read against.
    const floor = await startChild([FLOOR_PROXY, server.url]);
    stops.push(floor.stop);
    const viaFloor = await httpClient(`${floor.origin}/mcp`, { lifeline: false });
    stops.push(viaFloor.close);
    await warm(strict, viaFloor, calls);
    for (const [label, ratio] of await rateRatios(strict, viaFloor, calls)) {
      figures.push(figure(SCENARIO, `reference: bare Node proxy / direct with per-request signals, ${label}`, round(ratio), '×'));
    }

    const rates = await rateRatios(direct, gateway, calls);
    for (const [label, ratio, rate] of rates) {
      figures.push(
        figure(SCENARIO, `calls/s via serve, ${label}`, Math.round(rate), 'calls/s'),
        figure(SCENARIO, `ratio serve / direct, ${label}`, round(ratio), '×', { text: '≥ 0.8', met: ratio >= 0.8 }),
      );
    }
    const latency = await compareLatency(increment(direct.client), increment(gateway.client), { calls, warmup: 50 });
    figures.push(
      figure(SCENARIO, 'latency added at the median', round(latency.candidate.median - latency.baseline.median), 'ms'),
      figure(SCENARIO, 'latency added at p99', round(latency.candidate.p99 - latency.baseline.p99), 'ms'),
    );
    figures.push(figure(SCENARIO, 'memory per idle session (gateway heap, after GC)', Math.round(perSession), 'bytes'));

    const missing = redisMissing();
    if (missing !== undefined) {
      process.stderr.write(`bench: ${missing}; skipping the replica figures\n`);
      return figures;
    }
    const redis = await startRedis();
    stops.push(redis.stop);
    const replicas = await Promise.all([0, 1].map(() => startServe([server.url, '--store', redis.url, '--key-file', keyFile])));
    for (const replica of replicas) stops.push(replica.stop);
    let turn = 0;
    const alternate: typeof fetch = (input, init) => {
      const path = new URL(input instanceof Request ? input.url : input.toString()).pathname;
      return fetch(`${replicas[turn++ % replicas.length]?.origin}${path}`, init);
    };
    const spread = await httpClient(`${replicas[0]?.origin}/mcp`, { lifeline: false, fetch: alternate });
    stops.push(spread.close);
    await warm(direct, spread, calls);
    for (const [label, ratio, rate] of await rateRatios(direct, spread, calls)) {
      figures.push(
        figure(SCENARIO, `calls/s via 2 replicas on Redis, ${label}`, Math.round(rate), 'calls/s'),
        figure(SCENARIO, `ratio 2 replicas / direct, ${label}`, round(ratio), '×', { text: '≥ 0.7', met: ratio >= 0.7 }),
      );
    }
    return figures;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await server.close();
    rmSync(keyFile, { force: true });
  }
}

async function warm(direct: BenchClient, candidate: BenchClient, calls: number): Promise<void> {
  await throughput(increment(direct.client), Math.min(200, calls), 4);
  await throughput(increment(candidate.client), Math.min(200, calls), 4);
}

/** Calls/s of the candidate and its ratio to direct, with 1 and 8 callers; two rounds in alternating order. */
async function rateRatios(direct: BenchClient, candidate: BenchClient, calls: number): Promise<[string, number, number][]> {
  const out: [string, number, number][] = [];
  for (const [label, callers] of [
    ['1 caller', 1],
    ['8 callers', 8],
  ] as const) {
    const rates = { direct: [] as number[], candidate: [] as number[] };
    for (const order of [
      ['direct', 'candidate'],
      ['candidate', 'direct'],
    ] as const) {
      for (const which of order) {
        const client = which === 'direct' ? direct : candidate;
        rates[which].push(await throughput(increment(client.client), calls, callers));
      }
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    out.push([label, mean(rates.candidate) / mean(rates.direct), mean(rates.candidate)]);
  }
  return out;
}

/**
 * Heap the gateway keeps per session opened (initialize + initialized) and left idle: a gateway in
 * this process, measured after full collections (the upstream runs in its own process, and no
 * client object is kept, so what stays is the gateway's: token cache, store record, binding and
 * the middleware's session record).
 */
async function memoryPerSession(upstreamUrl: string, sessions: number): Promise<number> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return Number.NaN;
  const gateway = await startGateway({ port: 0, upstreams: [{ name: 'bench', url: new URL(upstreamUrl) }], maxRecords: sessions * 2 });
  try {
    const url = `${gateway.origin}/mcp`;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const open = async (index: number) => {
      const params = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: `idle-${index}`, version: '1' } };
      const init = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params }),
      });
      const session = init.headers.get('mcp-session-id') ?? '';
      await init.text();
      const done = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': session },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      });
      await done.text();
    };
    const batch = async (from: number, count: number) => {
      for (let index = from; index < from + count; index += 20)
        await Promise.all(Array.from({ length: 20 }, (_, offset) => open(index + offset)));
    };
    await batch(0, 40); // warm-up: connection pools, JIT, caches
    collect();
    collect();
    const before = process.memoryUsage().heapUsed;
    await batch(40, sessions);
    collect();
    collect();
    return (process.memoryUsage().heapUsed - before) / sessions;
  } finally {
    await gateway.shutdown('bench over');
  }
}

/** `mcp-lifeline serve` as a child process on a free port; resolves once it listens. */
function startServe(args: readonly string[]): Promise<ServeChild> {
  return startChild([LIFELINE_CLI, 'serve', ...args, '--port', '0']);
}

/** A Node script that logs `listening address=…` once it listens, as a child process. */
async function startChild(args: readonly string[]): Promise<ServeChild> {
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${text}`)), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening address=(\S+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}: ${text}`)));
  });
  return {
    origin,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
