// The soak's judgement: what must hold after a run, checked against the server's own records.
import type { Writable } from 'node:stream';
import type { ChaosLog } from './soak-chaos.js';
import type { Outcome } from './soak-clients.js';

export interface SoakInput {
  readonly outcomes: readonly Outcome[];
  /** Calls the soak started. */
  readonly sent: number;
  /** Executions per key, from the server's log (survives restarts). */
  readonly executions: ReadonlyMap<string, number>;
  readonly sabotaged: readonly string[];
  readonly chaos: ChaosLog;
  /** RSS samples, in bytes, one a second. */
  readonly rss: readonly number[];
  readonly handlesAtStart: Record<string, number>;
  readonly handlesAtEnd: Record<string, number>;
  readonly bridgeExits: readonly (number | null)[];
  /** Middleware events seen in the in-process phase, by type. */
  readonly events: Record<string, number>;
  readonly seconds: number;
}

interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface SoakVerdict {
  readonly passed: boolean;
  readonly checks: readonly Check[];
  readonly figures: Record<string, string | number>;
}

// After a restart or refused connections, clients need a moment to notice the server is back.
const WINDOW_GRACE_MS = 1500;
const DROP_GRACE_MS = 250;
const CLEAR_MESSAGE =
  /session expired|connection|refused|closed|broke before its answer|JSON|terminated|timed out|not listening|reset|socket|HTTP \d{3}|rejected|answered/i;

export function judge(input: SoakInput): SoakVerdict {
  const { outcomes, executions } = input;
  const successes = outcomes.filter((outcome) => outcome.ok);
  const failures = outcomes.filter((outcome) => !outcome.ok);
  const keys = new Set(outcomes.map((outcome) => outcome.key));
  const sabotaged = new Set(input.sabotaged);
  const totalExecutions = [...executions.values()].reduce((sum, count) => sum + count, 0);
  const doubled = [...executions.entries()].filter(([, count]) => count > 1);
  const successNotOnce = successes.filter((outcome) => executions.get(outcome.key) !== 1);
  const failedButRan = failures.filter((outcome) => (executions.get(outcome.key) ?? 0) > 0);

  const explain = (outcome: Outcome): string | undefined => {
    if (sabotaged.has(outcome.key)) return 'broken answer (injected)';
    const overlaps = (start: number, end: number) => outcome.start <= end && outcome.end >= start;
    const window = input.chaos.windows.find((candidate) => overlaps(candidate.start, candidate.end + WINDOW_GRACE_MS));
    if (window !== undefined) return `server down (${window.kind})`;
    if (input.chaos.drops.some((at) => overlaps(at - DROP_GRACE_MS, at + DROP_GRACE_MS))) return 'sessions dropped again during recovery';
    return undefined;
  };
  const categories = new Map<string, number>();
  const unexplained: Outcome[] = [];
  for (const failure of failures) {
    const reason = explain(failure);
    if (reason === undefined) unexplained.push(failure);
    else categories.set(reason, (categories.get(reason) ?? 0) + 1);
  }
  const unclear = failures.filter(
    (outcome) => outcome.error === undefined || outcome.error.length < 12 || !CLEAR_MESSAGE.test(outcome.error),
  );

  const leaked = Object.entries(input.handlesAtEnd)
    .filter(([type, count]) => count > (input.handlesAtStart[type] ?? 0))
    .map(([type, count]) => `${type} ${input.handlesAtStart[type] ?? 0}→${count}`);

  const rss = rssTrend(input.rss);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const sample = (list: readonly Outcome[]) =>
    list
      .slice(0, 3)
      .map((outcome) => `${outcome.key}: ${outcome.error ?? 'ok'}`)
      .join(' | ');

  const checks: Check[] = [
    {
      name: 'every call got exactly one answer',
      passed: outcomes.length === input.sent && keys.size === input.sent,
      detail: `${input.sent} sent, ${outcomes.length} answered (${successes.length} results, ${failures.length} errors)`,
    },
    { name: 'nothing ran twice', passed: doubled.length === 0, detail: `${doubled.length} keys executed more than once` },
    {
      name: 'executions = successful calls',
      passed: totalExecutions === successes.length && successNotOnce.length === 0,
      detail: `server counted ${totalExecutions} executions for ${successes.length} successes${failedButRan.length > 0 ? `; ran but failed: ${sample(failedButRan)}` : ''}`,
    },
    {
      name: 'failures only where the chaos explains them',
      passed: unexplained.length === 0,
      detail:
        unexplained.length === 0
          ? [...categories.entries()].map(([reason, count]) => `${count} × ${reason}`).join(', ') || 'no failures'
          : `${unexplained.length} unexplained: ${sample(unexplained)}`,
    },
    {
      name: 'every failure has a clear message',
      passed: unclear.length === 0,
      detail: unclear.length === 0 ? 'all clear' : sample(unclear),
    },
    {
      name: 'bridges exited 0 at EOF',
      passed: input.bridgeExits.every((code) => code === 0),
      detail: `exit codes ${input.bridgeExits.join(', ')}`,
    },
    {
      name: 'no leaked handles',
      passed: leaked.length === 0,
      detail: leaked.length === 0 ? 'handles at the end ≤ at the start' : leaked.join(', '),
    },
    {
      name: 'RSS stable',
      passed: rss.late <= rss.early * 1.5 + 16 * 1024 * 1024,
      detail: `median RSS ${mb(rss.early)} in the first third, ${mb(rss.late)} in the last third (limit 1.5× + 16 MB)`,
    },
  ];

  return {
    passed: checks.every((check) => check.passed),
    checks,
    figures: {
      seconds: Number(input.seconds.toFixed(1)),
      'calls/s': Math.round(outcomes.length / input.seconds),
      successes: successes.length,
      failures: failures.length,
      executions: totalExecutions,
      ...Object.fromEntries(Object.entries(input.events).map(([type, count]) => [`middleware event: ${type}`, count])),
      ...Object.fromEntries(topMessages(failures).map(([message, count], index) => [`error #${index + 1} (${count}×)`, message])),
      ...Object.fromEntries(Object.entries(input.chaos.faults).map(([fault, count]) => [`fault: ${fault}`, count])),
    },
  };
}

/** The most frequent failure messages, ids and ports blanked so alike errors group. */
function topMessages(failures: readonly Outcome[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const failure of failures) {
    const message = (failure.error ?? '').replace(/\d+/g, 'N').slice(0, 150);
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
}

function rssTrend(samples: readonly number[]): { early: number; late: number } {
  const third = Math.max(1, Math.floor(samples.length / 3));
  return { early: median(samples.slice(0, third)), late: median(samples.slice(-third)) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function printVerdict(verdict: SoakVerdict, out: Writable): void {
  out.write('\nfigures\n');
  for (const [name, value] of Object.entries(verdict.figures)) out.write(`  ${name.padEnd(34)} ${value}\n`);
  out.write('\nchecks\n');
  for (const check of verdict.checks) out.write(`  ${check.passed ? 'PASS' : 'FAIL'}  ${check.name.padEnd(44)} ${check.detail}\n`);
  out.write(`\n${verdict.passed ? 'SOAK PASSED' : 'SOAK FAILED'}\n`);
}
