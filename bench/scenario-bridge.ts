// 2. Bridge overhead: the official client as an MCP host over stdio to `mcp-lifeline <url>`, vs
// to mcp-remote (what users pick today), vs the same client straight over HTTP; JSON and SSE
// answers; one caller and eight. The server runs in a process of its own, as a remote server does.

import { memoryOf } from '../test/helpers/processes.js';
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, bridgedClient, httpClient, increment, perRequestSignal } from './clients.js';
import { type Figure, figure } from './figures.js';
import { throughput } from './measure.js';
import { median, round, spread } from './stats.js';

// `direct*`: the same client over HTTP with a per-request signal (see perRequestSignal), the
// stricter baseline; `direct` is the client as it ships.
type Route = 'direct' | 'direct*' | 'lifeline' | 'mcp-remote';
type Mode = 'sequential' | 'concurrent';
const ROUTES: readonly Route[] = ['direct', 'direct*', 'lifeline', 'mcp-remote'];
const SCENARIO = '2. bridge overhead';

export async function bridgeOverhead(options: { calls: number; rounds: number; warmUp: number }): Promise<Figure[]> {
  const { calls, rounds, warmUp } = options;
  const figures: Figure[] = [];
  const rss: Record<'lifeline' | 'mcp-remote', { idle: number[]; peak: number[] }> = {
    lifeline: { idle: [], peak: [] },
    'mcp-remote': { idle: [], peak: [] },
  };
  for (const format of ['SSE', 'JSON'] as const) {
    const server = await startServerProcess({ jsonResponse: format === 'JSON' });
    const rates = Object.fromEntries(ROUTES.map((route) => [route, { sequential: [] as number[], concurrent: [] as number[] }])) as Record<
      Route,
      Record<Mode, number[]>
    >;
    try {
      // Rounds in rotated orders, so that drift does not favour one route; medians over the rounds.
      for (let round = 0; round < rounds; round++) {
        for (const route of ROUTES.map((_, index) => ROUTES[(index + round) % ROUTES.length] as Route)) {
          const client: BenchClient =
            route === 'direct'
              ? await httpClient(server.url, { lifeline: false })
              : route === 'direct*'
                ? await httpClient(server.url, { lifeline: false, fetch: perRequestSignal })
                : await bridgedClient(server.url, route);
          try {
            const bridge = route === 'lifeline' || route === 'mcp-remote' ? route : undefined;
            if (bridge !== undefined && client.pid !== undefined) rss[bridge].idle.push(memoryOf(client.pid).rssMiB);
            const call = increment(client.client);
            // Measured compiled (JIT): V8 optimizes a bridge's code after some thousands of calls, not minutes.
            await throughput(call, warmUp, 4);
            rates[route].sequential.push(await throughput(call, calls, 1));
            rates[route].concurrent.push(await throughput(call, calls, 8));
            if (bridge !== undefined && client.pid !== undefined) rss[bridge].peak.push(memoryOf(client.pid).peakMiB);
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
  const lifelineRss = median(rss.lifeline.peak);
  const remoteRss = median(rss['mcp-remote'].peak);
  figures.push(
    figure(SCENARIO, 'RSS after initialize, mcp-lifeline process', Math.round(median(rss.lifeline.idle)), 'MB'),
    figure(SCENARIO, 'RSS after initialize, mcp-remote process', Math.round(median(rss['mcp-remote'].idle)), 'MB'),
    figure(SCENARIO, 'peak RSS, mcp-lifeline process', Math.round(lifelineRss), 'MB'),
    figure(SCENARIO, 'peak RSS, mcp-remote process', Math.round(remoteRss), 'MB'),
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
    const [direct = 0, , lifeline = 0, remote = 0] = ROUTES.map((route) => median(rates[route][mode]));
    // Each ratio is the median over rounds of the two routes' ratio within one round (seconds
    // apart), so load that came and went between rounds cancels out of it.
    const perRound = (candidate: Route, baseline: Route) =>
      rates[candidate][mode].map((value, index) => value / (rates[baseline][mode][index] ?? Number.NaN));
    const ratio = (candidate: Route, baseline: Route) => median(perRound(candidate, baseline));
    // How far the rounds' ratios lie apart: with one caller, more than the distance to a goal.
    const apart = (candidate: Route, baseline: Route) => round(spread(perRound(candidate, baseline)));
    const [toDirect, toStrict, toRemote] = [ratio('lifeline', 'direct'), ratio('lifeline', 'direct*'), ratio('lifeline', 'mcp-remote')];
    figures.push(
      figure(SCENARIO, `calls/s direct HTTP, ${label}`, Math.round(direct), 'calls/s'),
      figure(SCENARIO, `calls/s via mcp-lifeline, ${label}`, Math.round(lifeline), 'calls/s'),
      figure(SCENARIO, `calls/s via mcp-remote 0.15.1, ${label}`, Math.round(remote), 'calls/s'),
      figure(SCENARIO, `ratio lifeline / direct, ${label}`, round(toDirect), '×', { text: '≥ 0.85', met: toDirect >= 0.85 }),
      figure(SCENARIO, `reference: spread of the rounds' ratios lifeline / direct, ${label}`, apart('lifeline', 'direct'), '×'),
      figure(SCENARIO, `reference: ratio lifeline / direct with per-request signals, ${label}`, round(toStrict), '×'),
      figure(SCENARIO, `ratio lifeline / mcp-remote, ${label}`, round(toRemote), '×', { text: '≥ 2', met: toRemote >= 2 }),
      figure(SCENARIO, `reference: spread of the rounds' ratios lifeline / mcp-remote, ${label}`, apart('lifeline', 'mcp-remote'), '×'),
    );
  }
  return figures;
}
