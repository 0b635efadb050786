import type { Writable } from 'node:stream';
import type { Command } from '../args.js';
import { EXIT } from '../exit-codes.js';

export type ProbeCommand = Extract<Command, { kind: 'probe' }>;

/** What `probe` writes to and reads from; injected so tests can run it in-process. */
export interface ProbeIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stdout is a terminal (colour, progress). */
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C: `--idle` stops waiting and still reports what it found. */
  readonly signal: AbortSignal;
}

/** Runs `mcp-lifeline probe`; resolves to the exit code. (Placeholder until the probe lands.) */
export async function probeCommand(_command: ProbeCommand, io: ProbeIO): Promise<number> {
  io.stderr.write('probe: not implemented yet\n');
  return EXIT.internal;
}
