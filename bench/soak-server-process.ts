// The soak's server as a child process that can be restarted on the same port.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SoakCommand, SoakReply } from './soak-protocol.js';

const SCRIPT = fileURLToPath(new URL('./soak-server.js', import.meta.url));

type CommandBody = SoakCommand extends infer C ? (C extends SoakCommand ? Omit<C, 'id'> : never) : never;

export interface SoakServer {
  url(): string;
  /** Sends a command and waits (up to 10 s) for its reply. */
  command(command: CommandBody): Promise<SoakReply>;
  /** Graceful stop, a gap of `gapMs` with nothing listening, then a fresh process on the same port. */
  restart(gapMs: number): Promise<void>;
  stop(): Promise<void>;
  /** Keys of tool calls the server answered broken on purpose, across restarts. */
  sabotaged(): string[];
}

export async function startSoakServer(executionLog: string): Promise<SoakServer> {
  let port = 0;
  let child: ChildProcess;
  let nextId = 0;
  const pending = new Map<number, (reply: SoakReply) => void>();
  const sabotaged: string[] = [];

  const spawn = async () => {
    child = fork(SCRIPT, [String(port), executionLog], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.on('message', (reply: SoakReply) => {
      pending.get(reply.id)?.(reply);
      pending.delete(reply.id);
    });
    let stderr = '';
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`soak server did not start: ${stderr}`)), 15_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /LISTENING (\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`soak server exited with ${code}: ${stderr}`));
      });
    });
  };

  const command = (body: CommandBody): Promise<SoakReply> => {
    const id = ++nextId;
    return new Promise<SoakReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`soak server did not answer ${body.type}`));
      }, 10_000);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.send({ ...body, id });
    });
  };

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    const reply = await command({ type: 'stop' }).catch(() => undefined);
    if (reply?.type === 'sabotaged') sabotaged.push(...reply.keys);
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };

  await spawn();
  return {
    url: () => `http://127.0.0.1:${port}/mcp`,
    command,
    async restart(gapMs) {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      await spawn();
    },
    stop,
    sabotaged: () => sabotaged,
  };
}
