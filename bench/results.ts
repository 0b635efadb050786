// The bench's output: a plain-text table on stdout, every figure in bench/results.json.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import type { Figure } from './figures.js';

export function renderTable(figures: readonly Figure[]): string {
  const lines: string[] = [];
  let scenario = '';
  for (const item of figures) {
    if (item.scenario !== scenario) {
      scenario = item.scenario;
      lines.push('', scenario);
    }
    const value = `${item.value} ${item.unit}`;
    const goal = item.goal === undefined ? '' : `goal ${item.goal} ${item.met ? '✓' : '✗ NOT MET'}`;
    lines.push(`  ${item.metric.padEnd(52)} ${value.padStart(16)}   ${goal}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The machine in a few words: cores, CPU model, memory, OS. */
export function describeMachine(): string {
  const model = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${model}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}`;
}

export function writeResults(
  path: string,
  figures: readonly Figure[],
  options: { quick: boolean; seconds: number; load: { before: number; after: number } },
): void {
  const [cpu] = cpus();
  const results = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    quick: options.quick,
    seconds: options.seconds,
    /** One-minute load average of the machine when the run started and ended (2 cores: above 2, other work competed). */
    loadAverage: options.load,
    machine: { platform: platform(), release: release(), cpus: cpus().length, model: cpu?.model ?? 'unknown', memoryBytes: totalmem() },
    node: process.version,
    goalsMissed: figures.filter((item) => item.met === false).map((item) => `${item.scenario}: ${item.metric}`),
    figures,
  };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}
