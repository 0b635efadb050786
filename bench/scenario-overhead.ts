// 1. Middleware overhead: the same sequential tools/call through the official SDK client, plain
// fetch vs withSessionRecovery, with JSON answers and with SSE answers.
import { startDialectServer } from '../src/demo/dialect-server.js';
import { httpClient, increment } from './clients.js';
import { type Figure, figure } from './figures.js';
import { allocatedBytes, compareLatency } from './measure.js';
import { round } from './stats.js';

export async function middlewareOverhead(calls: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const jsonResponse of [true, false]) {
    const mode = jsonResponse ? 'JSON' : 'SSE';
    const server = await startDialectServer({ jsonResponse });
    const plain = await httpClient(server.url, { lifeline: false });
    const lifeline = await httpClient(server.url, { lifeline: true });
    const unchecked = await httpClient(server.url, { lifeline: true, checkSuccessfulAnswers: false });
    try {
      const warmup = Math.min(300, calls / 5);
      const latency = await compareLatency(increment(plain.client), increment(lifeline.client), { calls, warmup });
      const lean = await compareLatency(increment(plain.client), increment(unchecked.client), { calls, warmup });
      const sample = Math.min(1000, calls);
      const run = (call: () => Promise<unknown>) => async () => {
        for (let i = 0; i < sample; i++) await call();
      };
      const plainBytes = await allocatedBytes(run(increment(plain.client)));
      const lifelineBytes = await allocatedBytes(run(increment(lifeline.client)));
      const scenario = `1. middleware overhead, ${mode} answers`;
      figures.push(
        figure(scenario, 'median latency, plain fetch', round(latency.baseline.median), 'ms'),
        figure(scenario, 'median latency, withSessionRecovery', round(latency.candidate.median), 'ms'),
        figure(scenario, 'latency ratio at the median', round(latency.ratio.median), '×', {
          text: '≤ 1.02',
          met: latency.ratio.median <= 1.02,
        }),
        figure(scenario, 'latency ratio at p99', round(latency.ratio.p99), '×'),
        figure(scenario, 'latency ratio at the median, checkSuccessfulAnswers: false', round(lean.ratio.median), '×', {
          text: '≤ 1.02',
          met: lean.ratio.median <= 1.02,
        }),
        figure(scenario, 'extra heap allocated per call', Math.round((lifelineBytes - plainBytes) / sample), 'bytes'),
      );
    } finally {
      await plain.close();
      await lifeline.close();
      await unchecked.close();
      await server.close();
    }
  }
  return figures;
}
