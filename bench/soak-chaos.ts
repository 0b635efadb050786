// The chaos driver: one fault at a time, at random intervals, from a seeded generator so a
// failing run can be replayed with --seed.
import type { Sabotage } from '../src/demo/dialect-server.js';
import type { SoakServer } from './soak-server-process.js';

/** When the server could not answer at all, and when sessions were dropped. */
export interface ChaosLog {
  /** Periods with nothing listening (restarts, refused connections), in ms since the epoch. */
  readonly windows: { kind: 'restart' | 'refuse'; start: number; end: number }[];
  /** Moments every session was dropped. */
  readonly drops: number[];
  /** How many times each fault was injected. */
  readonly faults: Record<string, number>;
}

const DIALECTS = ['spec-404', 'text-400', 'jsonrpc-400', 'missing-session-id-400', 'jsonrpc-200', 'sse-200'];
const SABOTAGE: readonly Sabotage[] = ['cut-sse', 'malformed-json', 'truncated-json'];

/** Starts injecting faults; the returned function stops and waits for the fault in progress. */
export function driveChaos(server: SoakServer, log: ChaosLog, seed: number): () => Promise<void> {
  const random = mulberry32(seed);
  const between = (low: number, high: number) => Math.round(low + random() * (high - low));
  let running = true;
  let drops = 0;
  const count = (fault: string) => {
    log.faults[fault] = (log.faults[fault] ?? 0) + 1;
  };

  const loop = (async () => {
    while (running) {
      await sleep(between(150, 600));
      if (!running) break;
      const roll = random();
      if (roll < 0.45) {
        count(`drop ${DIALECTS[drops % DIALECTS.length]}`);
        log.drops.push(Date.now());
        await server.command({ type: 'drop', dialect: DIALECTS[drops++ % DIALECTS.length] as string });
      } else if (roll < 0.65) {
        const kind = SABOTAGE[between(0, SABOTAGE.length - 1)] as Sabotage;
        count(kind);
        await server.command({ type: 'sabotage', kind, count: between(1, 2) });
      } else if (roll < 0.75) {
        count('slow answers');
        await server.command({ type: 'delay', ms: between(50, 300) });
        await sleep(between(300, 1000));
        await server.command({ type: 'delay', ms: 0 });
      } else if (roll < 0.85) {
        count('refuse connections');
        const start = Date.now();
        await server.command({ type: 'suspend', ms: between(300, 1500) });
        log.windows.push({ kind: 'refuse', start, end: Date.now() });
      } else if (roll < 0.93) {
        count('restart server process');
        const start = Date.now();
        await server.restart(between(100, 600));
        log.drops.push(Date.now());
        log.windows.push({ kind: 'restart', start, end: Date.now() });
      }
    }
  })();

  return async () => {
    running = false;
    await loop;
    await server.command({ type: 'delay', ms: 0 }).catch(() => {});
    await server.command({ type: 'sabotage', kind: 'cut-sse', count: 0 }).catch(() => {});
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A small seeded PRNG (public domain), so a run's fault sequence can be replayed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
