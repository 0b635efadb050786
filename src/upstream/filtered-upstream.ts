import { concatBytes } from '../shared/concat-bytes.js';
import { idKey, type JsonRpcMessage } from '../shared/json-rpc.js';
import type { ToolFilter } from './tool-filter.js';
import type { RawMessage, Upstream, UpstreamSink } from './upstream.js';

/**
 * An upstream of any era behind a tool filter: the one place every message of the bridge and of
 * serve's message route passes, whatever the server speaks (2025 Streamable HTTP, 2024 HTTP+SSE,
 * 2026-07-28 stateless). A `tools/call` of a hidden tool is answered here and never sent; every
 * answer that lists tools (each page of `tools/list`) reaches the host without the hidden ones;
 * everything else, `notifications/tools/list_changed` included, passes as it came. Without a
 * filter, the upstream itself.
 */
export function createFilteredUpstream(
  filter: ToolFilter | undefined,
  sink: UpstreamSink,
  create: (sink: UpstreamSink) => Upstream,
): Upstream {
  if (filter === undefined) return create(sink);
  const state = {
    /** Ids of the host's `tools/list` requests in flight: their answers are read even when too large to arrive parsed. */
    listing: new Set<string>(),
  };
  const upstream = create({
    message(message: JsonRpcMessage, raw?: RawMessage) {
      if (message.method !== undefined || message.id === undefined || message.id === null) return sink.message(message, raw);
      const listed = state.listing.delete(idKey(message.id));
      // An answer too large to parse cheaply arrives as a summary with its text: read it when it answers tools/list.
      const summary = message.result === undefined && message.error === undefined && raw !== undefined;
      const whole = (listed && summary ? parsed(raw) : undefined) ?? message;
      const filtered = filter.filterAnswer(whole);
      // Unchanged: passed on as the server wrote it; changed: serialized again by the host side.
      if (filtered === whole) sink.message(message, raw);
      else sink.message(filtered);
    },
    event: (event) => sink.event(event),
    ready: sink.ready,
  });
  sink.event({ level: 'debug', type: 'tool-filter', message: `tool filter: ${filter.description}` });
  return {
    get era() {
      return upstream.era;
    },
    async send(message, options) {
      const refusal = filter.refusal(message);
      if (refusal !== undefined) {
        const name = String(message.params?.['name']);
        sink.event({
          level: 'info',
          type: 'tool-call-refused',
          message: `refused a call of ${JSON.stringify(name)}: ${filter.hides(name)}`,
        });
        if (refusal.answer !== undefined) sink.message(refusal.answer);
        return;
      }
      const listing = message.method === 'tools/list' && message.id !== undefined && message.id !== null ? idKey(message.id) : undefined;
      if (listing !== undefined) state.listing.add(listing);
      try {
        await upstream.send(message, options);
      } catch (error) {
        if (listing !== undefined) state.listing.delete(listing);
        throw error;
      }
    },
    end: () => upstream.end(),
    close: () => upstream.close(),
  };
}

/** A serialized message, parsed; undefined when it is not JSON. */
function parsed(raw: RawMessage): JsonRpcMessage | undefined {
  let text: string;
  if (typeof raw === 'string') text = raw;
  else {
    const pieces: readonly Uint8Array[] = raw instanceof Uint8Array ? [raw] : raw;
    text = new TextDecoder().decode(
      concatBytes(
        pieces,
        pieces.reduce((sum, piece) => sum + piece.byteLength, 0),
      ),
    );
  }
  try {
    return JSON.parse(text) as JsonRpcMessage;
  } catch {
    return undefined;
  }
}
