import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { freePort, stopChild } from './processes.js';

/** A throwaway redis-server on 127.0.0.1, no persistence. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Runs one command through redis-cli (FLUSHALL, DBSIZE…) and returns its output. */
  cli(...args: string[]): string;
  stop(): Promise<void>;
}

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error === undefined && found.status === 0) return undefined;
  return 'redis-server is not installed (bash .ci/run installs it: apt-get install redis-server)';
}

/** Starts redis-server on a free loopback port (or `port`: a restart); resolves once it accepts connections. */
export async function startRedis(port?: number): Promise<RedisServer> {
  port ??= await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start: ${output.slice(-1000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
  return { url: `redis://127.0.0.1:${port}`, port, cli, stop: () => stopChild(child) };
}
