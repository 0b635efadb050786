// Starts bench/bench-server.ts as a child process and stops it.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../test/helpers/processes.js';

const SCRIPT = fileURLToPath(new URL('./bench-server.js', import.meta.url));

export interface ServerProcess {
  readonly url: string;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export async function startServerProcess(options: { jsonResponse: boolean }): Promise<ServerProcess> {
  const child = fork(SCRIPT, [options.jsonResponse ? 'json' : 'sse'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`bench server did not start: ${stderr}`)), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /LISTENING (\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code}: ${stderr}`));
    });
  });
  return { url, pid: child.pid, close: () => stopChild(child) };
}
