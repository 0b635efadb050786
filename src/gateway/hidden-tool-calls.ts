import { type JsonRpcId, type JsonRpcMessage, summarizeJsonRpc } from '../shared/json-rpc.js';
import type { ToolFilter } from '../upstream/tool-filter.js';
import { sendJson } from './http-exchange.js';
import type { RouteRequest } from './route.js';

/**
 * The pass-through route's half of the tool filter (the message route's is the filtered
 * upstream): a POST that calls a hidden tool is answered here and never reaches the upstream.
 * Returns true when it answered. In a batch (2025-03-26), one such call keeps the whole batch
 * back: the upstream answers a batch as one, so the others are answered with an error saying they
 * were not sent.
 */
export function refuseHiddenToolCalls(request: RouteRequest, tools: ToolFilter): boolean {
  const body = request.body;
  if (request.req.method !== 'POST' || body === undefined || !body.includes('tools/call')) return false;
  const summary = summarizeJsonRpc(body.toString('utf8'));
  const messages = summary.messages as unknown as JsonRpcMessage[];
  const refusals = messages.map((message) => tools.refusal(message));
  const refused = refusals.find((refusal) => refusal !== undefined);
  if (refused === undefined) return false;
  const answers = messages.flatMap((message, index): JsonRpcMessage[] => {
    if (refusals[index] !== undefined) return refusals[index].answer === undefined ? [] : [refusals[index].answer];
    if (message.method === undefined || message.id === undefined || message.id === null) return [];
    return [notSent(message.id, refused.answer?.error?.message)];
  });
  if (answers.length === 0) request.res.writeHead(202, request.answerHeaders).end();
  else sendJson(request.res, 200, summary.batch ? answers : answers[0], request.answerHeaders);
  return true;
}

function notSent(id: JsonRpcId, why: string | undefined): JsonRpcMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: -32000, message: `mcp-lifeline: not sent: its batch also calls a hidden tool (${why ?? 'see the tool filter'})` },
  };
}
