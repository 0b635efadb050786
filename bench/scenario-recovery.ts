// 3. Recovery cost: HTTP requests the server sees per recovery, and the recovered call's latency
// as a multiple of a normal call's.
import { startDialectServer } from '../src/demo/dialect-server.js';
import { httpClient, increment } from './clients.js';
import { type Figure, figure } from './figures.js';
import { percentile, round } from './stats.js';

export async function recoveryCost(rounds: number): Promise<Figure[]> {
  let requests = 0;
  // No GET stream: the requests counted are the recovery's alone.
  const server = await startDialectServer({ noEventStream: true, onRequest: () => requests++ });
  const client = await httpClient(server.url, { lifeline: true });
  const call = increment(client.client);
  try {
    const normal: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      await call();
      normal.push(performance.now() - started);
    }
    const measure = async () => {
      const seen: number[] = [];
      const latencies: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < 5; i++) await call();
        server.dropSessions();
        const before = requests;
        const started = performance.now();
        await call();
        latencies.push(performance.now() - started);
        // The rejected request is the loss itself; the recovery is everything after it.
        seen.push(requests - before - 1);
      }
      return { requests: percentile(seen, 0.5), latency: percentile(latencies, 0.5) };
    };
    const bare = await measure();
    await client.client.setLoggingLevel('warning');
    await client.client.subscribeResource({ uri: 'lifeline://a' });
    await client.client.subscribeResource({ uri: 'lifeline://b' });
    const withState = await measure();
    const normalMedian = percentile(normal, 0.5);
    const scenario = '3. recovery cost';
    return [
      figure(scenario, 'requests per recovery, no state', bare.requests, 'requests', {
        text: '= 3 (initialize, initialized, replay)',
        met: bare.requests === 3,
      }),
      figure(scenario, 'requests per recovery, log level + 2 subscriptions', withState.requests, 'requests', {
        text: '= 6 (3 + one per state item)',
        met: withState.requests === 6,
      }),
      figure(scenario, 'median latency, normal call', round(normalMedian), 'ms'),
      figure(scenario, 'median latency, recovered call', round(bare.latency), 'ms'),
      figure(scenario, 'recovered call / normal call', round(bare.latency / normalMedian, 2), '×'),
      figure(scenario, 'recovered call with state / normal call', round(withState.latency / normalMedian, 2), '×'),
    ];
  } finally {
    await client.close();
    await server.close();
  }
}
