import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { parseCommand } from '../../src/cli/args.js';
import { probeCommand } from '../../src/cli/probe/probe-command.js';

/** Runs the probe in-process; returns exit code, stdout, stderr and (with --json) the report. */
export async function probe(url: string, flags: string[] = [], signal = new AbortController().signal) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const command = parseCommand(['probe', url, '--no-color', ...flags]);
  assert.equal(command.kind, 'probe');
  const code = await probeCommand(command as Extract<typeof command, { kind: 'probe' }>, {
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
    isTTY: false,
    env: {},
    signal,
  });
  // biome-ignore lint/suspicious/noExplicitAny: the tests read the probe's JSON report field by field, as a user's script would
  const json = flags.includes('--json') ? (JSON.parse(stdout) as Record<string, any>) : undefined;
  return { code, stdout, stderr, json };
}
