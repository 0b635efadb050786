// The broken and failing answers the dialect server's faults give instead of the SDK transport's.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Broken answers a fault can give a tool call instead of running it. */
export type Sabotage = 'malformed-json' | 'truncated-json' | 'cut-sse';

/** A broken answer to a tool call that never ran: what a flaky proxy or a crashing server sends. */
export function answerBroken(req: IncomingMessage, res: ServerResponse, kind: Sabotage, id: unknown): void {
  const answer = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'never ran' }] } });
  switch (kind) {
    case 'malformed-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer.slice(0, answer.length - 7));
      return;
    case 'truncated-json':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
      res.write(answer.slice(0, 20), () => req.socket.destroy());
      return;
    case 'cut-sse':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: message\ndata: ${answer.slice(0, 25)}`, () => req.socket.destroy());
      return;
  }
}

/** A tool that ran and failed at the HTTP level: `{"detail": message}` with its status, as JSON or as one SSE event. */
export function answerFailure(res: ServerResponse, args: Record<string, unknown>): void {
  const body = JSON.stringify({ detail: String(args['message']) });
  if (args['sse'] === true) {
    res.writeHead(Number(args['status']), { 'content-type': 'text/event-stream' }).end(`data: ${body}\n\n`);
    return;
  }
  res.writeHead(Number(args['status']), { 'content-type': 'application/json' }).end(body);
}

/** Lets the request run, then destroys the connection instead of sending its answer. */
export function loseAnswer(req: IncomingMessage, res: ServerResponse): void {
  const cut = () => {
    req.socket.destroy();
    return res;
  };
  res.writeHead = cut as typeof res.writeHead;
  res.write = (() => true) as typeof res.write;
  res.end = cut as typeof res.end;
}
