// 2. Bridge overhead: the official client as an MCP host over stdio to `mcp-lifeline <url>`, vs
// to mcp-remote (what users pick today), vs the same client straight over HTTP; JSON and SSE
// answers; one caller and eight. The server runs in a process of its own, as a remote server does.
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, bridgedClient, httpClient, increment, perRequestSignal } from './clients.js';
import { type Figure, figure } from './figures.js';
import { peakRss, throughput } from './measure.js';
import { round } from './stats.js';

// `direct*`: the same client over HTTP with a per-request signal (see perRequestSignal), the
// stricter baseline; `direct` is the client as it ships.
type Route = 'direct' | 'direct*' | 'lifeline' | 'mcp-remote';
type Mode = 'sequential' | 'concurrent';
const ROUTES: readonly Route[] = ['direct', 'direct*', 'lifeline', 'mcp-remote'];
const SCENARIO = '2. bridge overhead';

export async function bridgeOverhead(calls: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  const rss: Record<'lifeline' | 'mcp-remote', number[]> = { lifeline: [], 'mcp-remote': [] };
  for (const format of ['SSE', 'JSON'] as const) {
    const server = await startServerProcess({ jsonResponse: format === 'JSON' });
    const rates = Object.fromEntries(ROUTES.map((route) => [route, { sequential: [] as number[], concurrent: [] as number[] }])) as Record<
      Route,
      Record<Mode, number[]>
    >;
    try {
      // Two rounds in opposite orders, so that drift does not favour one route.
      for (const order of [ROUTES, [...ROUTES].reverse()]) {
        for (const route of order) {
          const client: BenchClient =
            route === 'direct'
              ? await httpClient(server.url, { lifeline: false })
              : route === 'direct*'
                ? await httpClient(server.url, { lifeline: false, fetch: perRequestSignal })
                : await bridgedClient(server.url, route);
          try {
            const call = increment(client.client);
            await throughput(call, Math.min(200, calls), 1);
            rates[route].sequential.push(await throughput(call, calls, 1));
            rates[route].concurrent.push(await throughput(call, calls, 8));
            const peak = client.pid === undefined ? undefined : peakRss(client.pid);
            if (peak !== undefined && (route === 'lifeline' || route === 'mcp-remote')) rss[route].push(peak);
          } finally {
            await client.close();
          }
        }
      }
    } finally {
      await server.close();
    }
    figures.push(...rateFigures(format, rates));
  }
  const lifelineRss = mean(rss.lifeline);
  const remoteRss = mean(rss['mcp-remote']);
  figures.push(
    figure(SCENARIO, 'peak RSS, mcp-lifeline process', Math.round(lifelineRss / 2 ** 20), 'MB'),
    figure(SCENARIO, 'peak RSS, mcp-remote process', Math.round(remoteRss / 2 ** 20), 'MB'),
    figure(SCENARIO, 'ratio peak RSS lifeline / mcp-remote', round(lifelineRss / remoteRss), '×', {
      text: '≤ 0.6',
      met: lifelineRss <= 0.6 * remoteRss,
    }),
  );
  return figures;
}

function rateFigures(format: 'SSE' | 'JSON', rates: Record<Route, Record<Mode, number[]>>): Figure[] {
  const figures: Figure[] = [];
  for (const mode of ['sequential', 'concurrent'] as const) {
    const label = `${format}, ${mode === 'sequential' ? '1 caller' : '8 callers'}`;
    const [direct = 0, strict = 0, lifeline = 0, remote = 0] = ROUTES.map((route) => mean(rates[route][mode]));
    figures.push(
      figure(SCENARIO, `calls/s direct HTTP, ${label}`, Math.round(direct), 'calls/s'),
      figure(SCENARIO, `calls/s via mcp-lifeline, ${label}`, Math.round(lifeline), 'calls/s'),
      figure(SCENARIO, `calls/s via mcp-remote 0.15.1, ${label}`, Math.round(remote), 'calls/s'),
      figure(SCENARIO, `ratio lifeline / direct, ${label}`, round(lifeline / direct), '×', {
        text: '≥ 0.85',
        met: lifeline >= 0.85 * direct,
      }),
      figure(SCENARIO, `reference: ratio lifeline / direct with per-request signals, ${label}`, round(lifeline / strict), '×'),
      figure(SCENARIO, `ratio lifeline / mcp-remote, ${label}`, round(lifeline / remote), '×', {
        text: '≥ 2',
        met: lifeline >= 2 * remote,
      }),
    );
  }
  return figures;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}
