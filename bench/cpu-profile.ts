// Reading a V8 `.cpuprofile` (node --cpu-prof): self time per function, heaviest first, so the
// bench's profiling runs can report their top entries.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  /** `function (file:line)`, the file relative to the package (`dist/…`, `node_modules/pkg/…`, `node:…`). */
  readonly where: string;
  /** Microseconds of self time. */
  readonly selfUs: number;
  /** Share of the busy (not idle) time. */
  readonly share: number;
}

/** Self time per function of a profile, heaviest first, with the busy time (idle excluded) in microseconds. */
export function selfTimes(path: string): { entries: ProfileEntry[]; busyUs: number } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    if (node === undefined || node.callFrame.functionName === '(idle)') return;
    busy += delta;
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + delta);
  });
  const entries = [...self.entries()]
    .map(([where, selfUs]) => ({ where, selfUs, share: selfUs / Math.max(1, busy) }))
    .sort((a, b) => b.selfUs - a.selfUs);
  return { entries, busyUs: busy };
}

/**
 * Inclusive time of the functions whose file matches `own` (the project's code), heaviest first:
 * what each stage of a call costs with everything it calls.
 */
export function inclusiveTimes(path: string, own: RegExp): ProfileEntry[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const total = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    if (byId.get(id)?.callFrame.functionName === '(idle)') return;
    busy += delta;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame === undefined || !own.test(frame.url)) continue;
      const key = label(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + delta);
    }
  });
  return [...total.entries()]
    .map(([where, selfUs]) => ({ where, selfUs, share: selfUs / Math.max(1, busy) }))
    .sort((a, b) => b.selfUs - a.selfUs);
}

function label(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  const file = frame.url.replace(/^file:\/\/.*?\/(?=(?:dist|build|node_modules)\/)/, '').replace(/^.*\/node_modules\//, 'node_modules/');
  return `${name} (${file}:${frame.lineNumber + 1})`;
}
