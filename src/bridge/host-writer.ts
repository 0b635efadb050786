import type { Writable } from 'node:stream';
import type { JsonRpcMessage } from '../shared/json-rpc.js';
import type { RawMessage } from '../upstream/upstream.js';

/** Writes newline-delimited JSON-RPC to the host, honouring backpressure. */
export interface HostWriter {
  /** Queues one message; `raw` is its serialized form when the caller has it. */
  write(message: JsonRpcMessage, raw?: RawMessage): void;
  /** A promise while the host is not reading fast enough (stdout is full); undefined otherwise. */
  ready(): Promise<void> | undefined;
  /** Resolves once everything queued was handed to the stream (or the stream failed). */
  flushed(): Promise<void>;
}

/**
 * Writes to `out` (stdout: JSON-RPC only, one message a line, MCP basic/transports §stdio). While
 * `out` is full, messages wait in one queue behind one `drain` listener, so the cost stays linear
 * however many messages a server streams; readers of server streams await {@linkcode HostWriter.ready}
 * and stop reading while the host is behind, which bounds the queue.
 */
export function createHostWriter(out: Writable): HostWriter {
  const queue: RawMessage[] = [];
  let head = 0;
  let waiting: { promise: Promise<void>; resolve: () => void } | undefined;
  let failed = false;
  out.on('error', () => {
    failed = true;
    queue.length = 0;
    head = 0;
    settle();
  });

  const settle = () => {
    const current = waiting;
    waiting = undefined;
    current?.resolve();
  };

  const flush = () => {
    while (head < queue.length) {
      const line = queue[head] as RawMessage;
      queue[head] = '';
      head += 1;
      if (!writeLine(out, line)) {
        out.once('drain', flush);
        return;
      }
    }
    queue.length = 0;
    head = 0;
    settle();
  };

  return {
    write(message, raw) {
      if (failed) return;
      const line = raw ?? JSON.stringify(message);
      if (waiting !== undefined) {
        queue.push(line);
        return;
      }
      if (!writeLine(out, line)) {
        let resolve: () => void = () => {};
        const promise = new Promise<void>((done) => {
          resolve = done;
        });
        waiting = { promise, resolve };
        out.once('drain', flush);
      }
    },
    ready: () => waiting?.promise,
    flushed: () => waiting?.promise ?? Promise.resolve(),
  };
}

/** Above this, the line and its newline go as two writes: joining them would copy the whole line. */
const JOIN_LIMIT = 16 * 1024;

function writeLine(out: Writable, line: RawMessage): boolean {
  if (typeof line === 'string' && line.length <= JOIN_LIMIT) return out.write(`${line}\n`);
  out.cork();
  if (typeof line === 'string' || line instanceof Uint8Array) out.write(line);
  else for (const piece of line) out.write(piece);
  const ok = out.write('\n');
  out.uncork();
  return ok;
}
