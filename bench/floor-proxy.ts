// The floor for any gateway written in Node: the simplest pass-through proxy (node:http in front,
// node:http behind through a keep-alive Agent, bodies piped both ways, nothing parsed, no sessions,
// no recovery, no checks). `serve` is measured against it in the same run, so a goal it misses can
// be told apart from what a hop costs at all. Logs `listening address=…` on stderr.
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2] as string);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

function endToEnd(headers: NodeJS.Dict<string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const server = createServer((req, res) => {
  const outgoing = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: upstream.pathname + upstream.search,
      method: req.method,
      headers: endToEnd(req.headers),
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      answer.pipe(res);
    },
  );
  outgoing.on('error', (error) => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end(String(error));
  });
  req.pipe(outgoing);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stderr.write(`listening address=http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
