// 2. Bridge overhead: the official client over stdio to `mcp-lifeline <url>`, vs to mcp-remote
// (what users pick today), vs straight over HTTP; one caller and eight.
import { startDialectServer } from '../src/demo/dialect-server.js';
import { type BenchClient, bridgedClient, httpClient, increment } from './clients.js';
import { type Figure, figure } from './figures.js';
import { peakRss, throughput } from './measure.js';
import { round } from './stats.js';

type Route = 'direct' | 'lifeline' | 'mcp-remote';

export async function bridgeOverhead(calls: number): Promise<Figure[]> {
  const server = await startDialectServer();
  const rates: Record<Route, { sequential: number[]; concurrent: number[]; rss: number[] }> = {
    direct: { sequential: [], concurrent: [], rss: [] },
    lifeline: { sequential: [], concurrent: [], rss: [] },
    'mcp-remote': { sequential: [], concurrent: [], rss: [] },
  };
  try {
    // Two rounds in alternating order, so that drift does not favour one route.
    for (const order of [
      ['direct', 'lifeline', 'mcp-remote'],
      ['mcp-remote', 'lifeline', 'direct'],
    ] as Route[][]) {
      for (const route of order) {
        const client: BenchClient =
          route === 'direct' ? await httpClient(server.url, { lifeline: false }) : await bridgedClient(server.url, route);
        try {
          const call = increment(client.client);
          await throughput(call, Math.min(200, calls), 1);
          rates[route].sequential.push(await throughput(call, calls, 1));
          rates[route].concurrent.push(await throughput(call, calls, 8));
          const rss = client.pid === undefined ? undefined : peakRss(client.pid);
          if (rss !== undefined) rates[route].rss.push(rss);
        } finally {
          await client.close();
        }
      }
    }
  } finally {
    await server.close();
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
  const scenario = '2. bridge overhead';
  const figures: Figure[] = [];
  for (const mode of ['sequential', 'concurrent'] as const) {
    const label = mode === 'sequential' ? '1 caller' : '8 callers';
    const [direct, lifeline, remote] = (['direct', 'lifeline', 'mcp-remote'] as const).map((route) => mean(rates[route][mode]));
    figures.push(
      figure(scenario, `calls/s direct HTTP, ${label}`, Math.round(direct ?? 0), 'calls/s'),
      figure(scenario, `calls/s via mcp-lifeline, ${label}`, Math.round(lifeline ?? 0), 'calls/s'),
      figure(scenario, `calls/s via mcp-remote 0.15.1, ${label}`, Math.round(remote ?? 0), 'calls/s'),
      figure(scenario, `ratio lifeline / mcp-remote, ${label}`, round((lifeline ?? 0) / (remote ?? 1)), '×', {
        text: '≥ 1',
        met: (lifeline ?? 0) >= (remote ?? 0),
      }),
      figure(scenario, `ratio lifeline / direct, ${label}`, round((lifeline ?? 0) / (direct ?? 1)), '×'),
    );
  }
  figures.push(
    figure(scenario, 'peak RSS, mcp-lifeline process', Math.round(mean(rates.lifeline.rss) / 1024 / 1024), 'MB'),
    figure(scenario, 'peak RSS, mcp-remote process', Math.round(mean(rates['mcp-remote'].rss) / 1024 / 1024), 'MB'),
  );
  return figures;
}
