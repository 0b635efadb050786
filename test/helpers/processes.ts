import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A child process the test started; `stop()` is idempotent and bounded. */
export interface Child {
  readonly process: ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Everything the child wrote to stdout so far. */
  stdout(): string;
  stop(): Promise<void>;
}

/** Starts `node args…` and resolves once a line matches `ready` (on stdout or stderr). */
export async function startNode(
  args: readonly string[],
  options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number; fdLimit?: number },
): Promise<Child & { match: RegExpMatchArray }> {
  // Under a lowered open-file limit: bash sets it and `exec`s node, so the pid stays node's.
  const [command, argv] =
    options.fdLimit === undefined
      ? [process.execPath, [...args]]
      : ['bash', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, process.execPath, ...args]];
  const child = spawn(command, argv, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`child did not print ${options.ready} within ${options.timeoutMs ?? 15_000} ms; stderr: ${err.slice(-2000)}`));
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 15_000);
    const check = () => {
      const found = (err.match(options.ready) ?? out.match(options.ready)) as RegExpMatchArray | null;
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
      check();
    });
    child.stderr.on('data', (data: Buffer) => {
      err += data.toString();
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited with ${code} before it was ready; stderr: ${err.slice(-2000)}`));
    });
  });
  return { process: child, match, stderr: () => err, stdout: () => out, stop: () => stopChild(child) };
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** A process's memory from /proc (Linux): resident now, and its peak (VmHWM), in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** Absolute path of a file next to the compiled test code. */
export function builtPath(relative: string, from: string): string {
  return fileURLToPath(new URL(relative, from));
}

/** A port nothing listens on right now (bound to 127.0.0.1 and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
