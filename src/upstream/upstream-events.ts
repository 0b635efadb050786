import type { UpstreamEvent, UpstreamSink } from './upstream.js';

/** Reports an event through the sink; a sink that throws must not break the upstream. */
export type ReportEvent = (level: UpstreamEvent['level'], type: string, message: string, fields?: UpstreamEvent['fields']) => void;

/** Reports through `sink`; `scrub` removes credentials from messages that quote the server. */
export function eventReporter(sink: UpstreamSink, scrub: (text: string) => string = (text) => text): ReportEvent {
  return (level, type, text, fields) => {
    const message = scrub(text);
    try {
      sink.event(fields === undefined ? { level, type, message } : { level, type, message, fields });
    } catch {
      // The sink's failure is not the server's.
    }
  };
}
