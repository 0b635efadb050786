import type { LifelineEvent } from '../../src/index.js';

/** Collects the middleware's events for assertions. */
export function recordEvents() {
  const events: LifelineEvent[] = [];
  return {
    events,
    onEvent: (event: LifelineEvent) => {
      events.push(event);
    },
    count: (type: LifelineEvent['type']) => events.filter((event) => event.type === type).length,
    of<T extends LifelineEvent['type']>(type: T) {
      return events.filter((event): event is Extract<LifelineEvent, { type: T }> => event.type === type);
    },
  };
}
