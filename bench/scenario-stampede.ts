// 4. Stampede: N concurrent calls meet the same dead session. One re-initialization, N answers,
// N executions.
import { startDialectServer } from '../src/demo/dialect-server.js';
import { httpClient } from './clients.js';
import { type Figure, figure } from './figures.js';
import { round } from './stats.js';

export async function stampede(sizes: readonly number[]): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const n of sizes) {
    const server = await startDialectServer({ noEventStream: true });
    const client = await httpClient(server.url, { lifeline: true });
    try {
      await client.client.callTool({ name: 'echo', arguments: { text: 'warm' } });
      server.dropSessions();
      const initializations = server.counters.initializations;
      const executions = server.counters.executions;
      const started = performance.now();
      const outcomes = await Promise.allSettled(
        Array.from({ length: n }, (_, index) =>
          client.client.callTool({ name: 'increment', arguments: { key: `k${index}` } }, undefined, { timeout: 60_000 }),
        ),
      );
      const wall = performance.now() - started;
      const succeeded = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      const reinitializations = server.counters.initializations - initializations;
      const ran = server.counters.executions - executions;
      const scenario = `4. stampede, N = ${n}`;
      figures.push(
        figure(scenario, 're-initializations', reinitializations, 'count', { text: '= 1', met: reinitializations === 1 }),
        figure(scenario, 'calls succeeded', succeeded, 'calls', { text: `= ${n}`, met: succeeded === n }),
        figure(scenario, 'server-side executions', ran, 'count', { text: `= ${n}`, met: ran === n }),
        figure(scenario, 'wall time', round(wall, 1), 'ms'),
      );
    } finally {
      await client.close();
      await server.close();
    }
  }
  return figures;
}
