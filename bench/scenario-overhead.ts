// 1. Middleware overhead: the same sequential tools/call through the official SDK client, plain
// fetch vs withSessionRecovery, with JSON answers and with SSE answers, the server in a process of
// its own (as a remote server is: its work does not share the client's event loop). Every
// comparison uses a fresh pair of clients, so both sides have the same history.
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, httpClient, increment, perRequestSignal } from './clients.js';
import { type Figure, figure } from './figures.js';
import { allocatedBytes, compareLatency } from './measure.js';
import { round } from './stats.js';

export async function middlewareOverhead(calls: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const jsonResponse of [true, false]) {
    const mode = jsonResponse ? 'JSON' : 'SSE';
    const server = await startServerProcess({ jsonResponse });
    // V8 optimizes the middleware's functions after 500–1900 calls (`--trace-opt`, Node 20): each
    // pair is warmed past that, so the ratio compares steady states, as a long-running client sees.
    const warmup = Math.min(2000, calls);
    const compare = async (baseline: () => Promise<BenchClient>, candidate: () => Promise<BenchClient>) => {
      const [a, b] = [await baseline(), await candidate()];
      try {
        return await compareLatency(increment(a.client), increment(b.client), { calls, warmup });
      } finally {
        await a.close();
        await b.close();
      }
    };
    const plain = () => httpClient(server.url, { lifeline: false });
    const lifeline = () => httpClient(server.url, { lifeline: true });
    try {
      // A/A control: two plain clients. Its distance from 1 is the noise floor of this machine.
      const noise = await compare(plain, plain);
      const latency = await compare(plain, lifeline);
      const lean = await compare(plain, () => httpClient(server.url, { lifeline: true, checkSuccessfulAnswers: false }));
      const logic = await compare(() => httpClient(server.url, { lifeline: false, fetch: perRequestSignal }), lifeline);
      const sample = Math.min(1000, calls);
      const allocation = async (client: () => Promise<BenchClient>) => {
        const opened = await client();
        try {
          return await allocatedBytes(async () => {
            for (let i = 0; i < sample; i++) await opened.client.callTool({ name: 'increment', arguments: {} });
          });
        } finally {
          await opened.close();
        }
      };
      const extra = ((await allocation(lifeline)) - (await allocation(plain))) / sample;
      const scenario = `1. middleware overhead, ${mode} answers`;
      figures.push(
        figure(scenario, 'A/A control: plain / plain (noise floor)', round(noise.ratio.median), '×'),
        figure(scenario, 'median latency, plain fetch', round(latency.baseline.median), 'ms'),
        figure(scenario, 'median latency, withSessionRecovery', round(latency.candidate.median), 'ms'),
        figure(scenario, 'latency ratio at the median', round(latency.ratio.median), '×', {
          text: '≤ 1.02',
          met: latency.ratio.median <= 1.02,
        }),
        figure(scenario, 'latency ratio at p99', round(latency.ratio.p99), '×'),
        figure(scenario, 'ratio, checkSuccessfulAnswers: false', round(lean.ratio.median), '×'),
        figure(scenario, 'ratio vs fetch with a per-request signal (logic alone)', round(logic.ratio.median), '×'),
        figure(scenario, 'extra heap allocated per call', Math.round(extra), 'bytes'),
      );
    } finally {
      await server.close();
    }
  }
  return figures;
}
