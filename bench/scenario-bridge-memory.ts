// 2b. Big answers through the bridge: how much the bridge's peak RSS grows over ten 5 MB answers,
// against its peak after small ones, for mcp-lifeline and mcp-remote. mcp-lifeline holds a large
// answer once, as the bytes it arrived in (never decoded, parsed or serialized again), bounded by
// --max-message-size; a bridge that parses and re-serializes holds several copies.
import { startServerProcess } from './bench-server-process.js';
import { bridgedClient } from './clients.js';
import { type Figure, figure } from './figures.js';
import { peakRss } from './measure.js';
import { round } from './stats.js';

const ANSWER_BYTES = 5 * 1024 * 1024;
const SCENARIO = '2b. 5 MB answers through the bridge';

export async function bridgeMemory(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const format of ['SSE', 'JSON'] as const) {
    const server = await startServerProcess({ jsonResponse: format === 'JSON' });
    const grown: Record<'lifeline' | 'mcp-remote', number> = { lifeline: 0, 'mcp-remote': 0 };
    try {
      for (const route of ['lifeline', 'mcp-remote'] as const) {
        const client = await bridgedClient(server.url, route);
        try {
          const payload = (bytes: number) => client.client.callTool({ name: 'payload', arguments: { bytes } });
          for (let i = 0; i < 20; i++) await payload(1024);
          const before = peakRss(client.pid ?? 0) ?? 0;
          for (let i = 0; i < 10; i++) await payload(ANSWER_BYTES);
          grown[route] = ((peakRss(client.pid ?? 0) ?? 0) - before) / 2 ** 20;
        } finally {
          await client.close();
        }
      }
    } finally {
      await server.close();
    }
    figures.push(
      figure(SCENARIO, `peak RSS growth, mcp-lifeline, ${format}`, round(grown.lifeline), 'MB'),
      figure(SCENARIO, `peak RSS growth, mcp-remote, ${format}`, round(grown['mcp-remote']), 'MB'),
      figure(SCENARIO, `ratio growth lifeline / mcp-remote, ${format}`, round(grown.lifeline / Math.max(grown['mcp-remote'], 0.1)), '×', {
        text: '≤ 0.6',
        met: grown.lifeline <= 0.6 * grown['mcp-remote'],
      }),
    );
  }
  return figures;
}
