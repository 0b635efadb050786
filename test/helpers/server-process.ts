import type { TestContext } from 'node:test';
import type { Dialect } from '../../src/demo/dialects.js';
import { builtPath, startNode } from './processes.js';

const SCRIPT = builtPath('../fixtures/dialect-server-process.js', import.meta.url);

/** What a server process executed, as it reported when it stopped. */
export interface ProcessCounters {
  readonly initializations: number;
  readonly executions: number;
  readonly executionsByKey: Readonly<Record<string, number>>;
  readonly lostAnswers: number;
  readonly toolCalls: number;
}

/** A dialect server in a process of its own: one instance of a deploy. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  /** SIGTERM: requests in flight finish, then it exits; resolves with what it executed. */
  stop(): Promise<ProcessCounters>;
}

/**
 * Starts the dialect server as a process on `port` (0: a free one), stopped when the test ends.
 * `loseNewSessions`: the first tool call on each of the next n sessions it opens is answered as lost.
 */
export async function startServerProcess(
  t: TestContext,
  options: { port?: number; dialect?: Dialect; loseNewSessions?: number } = {},
): Promise<ServerProcess> {
  const args = [SCRIPT, String(options.port ?? 0), options.dialect ?? 'spec-404', String(options.loseNewSessions ?? 0)];
  const child = await startNode(args, { ready: /LISTENING (\d+)/ });
  t.after(() => child.stop());
  const port = Number(child.match[1]);
  let stopped: Promise<ProcessCounters> | undefined;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    stop() {
      stopped ??= child.stop().then(async () => {
        // 'exit' may come before the last of stdout: give it a moment.
        for (let waited = 0; waited < 1000 && !/COUNTERS .+\n/.test(child.stdout()); waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const line = /COUNTERS (.+)/.exec(child.stdout())?.[1];
        if (line === undefined) throw new Error(`the server process reported no counters; stderr: ${child.stderr().slice(-500)}`);
        return JSON.parse(line) as ProcessCounters;
      });
      return stopped;
    },
  };
}
