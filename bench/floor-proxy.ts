// The floor for any gateway written in Node: a pass-through proxy with no sessions, no recovery,
// no checks (node:http in front, undici's request() behind, bodies read whole). `serve` is measured
// against it in the same run, so a goal it misses can be told apart from what a hop costs at all.
import { createServer } from 'node:http';
import { request } from 'undici';

const upstream = process.argv[2] as string;
const PASSED = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    const headers: Record<string, string> = {};
    for (const name of PASSED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    try {
      const answer = await request(upstream, {
        method: (req.method ?? 'GET') as 'POST',
        headers,
        body: chunks.length === 0 ? null : Buffer.concat(chunks),
      });
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      const body = Buffer.from(await answer.body.arrayBuffer());
      out['content-length'] = String(body.length);
      res.writeHead(answer.statusCode, out).end(body);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stderr.write(`listening address=http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
