// 5. Cost growth: per-call overhead with 1, 10, 100 resource subscriptions, and with 1 KB,
// 100 KB, 5 MB answers (pass-through bodies must not be buffered: extra allocation stays flat).
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { LifelineEvent } from '../src/index.js';
import { httpClient, increment } from './clients.js';
import { type Figure, figure } from './figures.js';
import { allocatedBytes, compareLatency } from './measure.js';
import { round } from './stats.js';

export async function subscriptionGrowth(calls: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  let first: number | undefined;
  for (const count of [1, 10, 100]) {
    let recoveryMs = Number.NaN;
    const onEvent = (event: LifelineEvent) => {
      if (event.type === 'reinitialized') recoveryMs = event.durationMs;
    };
    const server = await startDialectServer({ noEventStream: true });
    const plain = await httpClient(server.url, { lifeline: false });
    const lifeline = await httpClient(server.url, { lifeline: true, onEvent });
    try {
      for (let i = 0; i < count; i++) await lifeline.client.subscribeResource({ uri: `lifeline://r${i}` });
      const latency = await compareLatency(increment(plain.client), increment(lifeline.client), { calls, warmup: 100 });
      server.dropSessions();
      await lifeline.client.callTool({ name: 'echo', arguments: { text: 'recover' } });
      const restored = server.sessions().find((session) => session.subscriptions.length > 0)?.subscriptions.length ?? 0;
      const scenario = `5a. ${count} subscription${count === 1 ? '' : 's'}`;
      first ??= latency.ratio.median;
      // Subscriptions are touched only by subscribe, unsubscribe and recovery: per-call cost must not grow.
      figures.push(
        figure(scenario, 'latency ratio at the median (SSE answers)', round(latency.ratio.median), '×', {
          text: `flat: within 0.05 of 1 subscription (${round(first)})`,
          met: Math.abs(latency.ratio.median - first) <= 0.05,
        }),
        figure(scenario, 'recovery time (restores every subscription)', recoveryMs, 'ms'),
        figure(scenario, 'subscriptions restored', restored, 'count', { text: `= ${count}`, met: restored === count }),
      );
    } finally {
      await plain.close();
      await lifeline.close();
      await server.close();
    }
  }
  return figures;
}

export async function responseSizeGrowth(quick: boolean): Promise<Figure[]> {
  const figures: Figure[] = [];
  const sizes = [
    { bytes: 1024, label: '1 KB', calls: quick ? 200 : 1000 },
    { bytes: 100 * 1024, label: '100 KB', calls: quick ? 50 : 300 },
    { bytes: 5 * 1024 * 1024, label: '5 MB', calls: quick ? 5 : 40 },
  ];
  for (const jsonResponse of [false, true]) {
    let smallest: number | undefined;
    const server = await startDialectServer({ jsonResponse, noEventStream: true });
    const plain = await httpClient(server.url, { lifeline: false });
    const lifeline = await httpClient(server.url, { lifeline: true });
    try {
      for (const size of sizes) {
        const payload = (client: typeof plain) => () => client.client.callTool({ name: 'payload', arguments: { bytes: size.bytes } });
        const latency = await compareLatency(payload(plain), payload(lifeline), {
          calls: size.calls,
          warmup: Math.max(2, size.calls / 10),
        });
        const sample = Math.max(3, Math.min(50, size.calls));
        const run = (call: () => Promise<unknown>) => async () => {
          for (let i = 0; i < sample; i++) await call();
        };
        const extra = ((await allocatedBytes(run(payload(lifeline)))) - (await allocatedBytes(run(payload(plain))))) / sample;
        const scenario = `5b. ${size.label} answers, ${jsonResponse ? 'JSON' : 'SSE'}`;
        // Flat: what the smallest answer costs, plus at most 128 KB, whatever the size. A middleware
        // that buffered the body would add at least the body's size.
        smallest ??= extra;
        const ceiling = Math.max(smallest, 0) + 128 * 1024;
        figures.push(
          figure(scenario, 'latency ratio at the median', round(latency.ratio.median), '×'),
          figure(
            scenario,
            'extra heap allocated per call',
            Math.round(extra),
            'bytes',
            size.bytes === sizes[0]?.bytes
              ? undefined
              : { text: `flat: ≤ 1 KB figure + 128 KB (${Math.round(ceiling / 1024)} KB)`, met: extra <= ceiling },
          ),
        );
      }
    } finally {
      await plain.close();
      await lifeline.close();
      await server.close();
    }
  }
  return figures;
}
