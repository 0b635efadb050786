// A Node script of the bench's (serve, the floor proxy) as a child process: started with optional
// Node flags (--cpu-prof) or under a wrapper (valgrind), resolved once it logs where it listens.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface NodeChild {
  /** `http://127.0.0.1:PORT`, from its `listening address=…` line. */
  readonly origin: string;
  readonly pid: number;
  /** CPU time (user + system) the process has used so far, in seconds (Linux; NaN elsewhere). */
  cpuSeconds(): number;
  /** SIGTERM; resolves once it exited (a --cpu-prof profile is written by then). */
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** Node flags before the script (`--cpu-prof`, `--cpu-prof-dir=…`). */
  readonly nodeFlags?: readonly string[];
  /** A command that runs node (`valgrind --tool=callgrind`). */
  readonly wrapper?: readonly string[];
  /** How long it may take to start, in ms (longer under valgrind). */
  readonly startMs?: number;
  /** What it writes to stdout (`--trace-gc` lines); ignored when not given. */
  readonly onStdout?: (text: string) => void;
}

export async function startNodeChild(args: readonly string[], options: ChildOptions = {}): Promise<NodeChild> {
  const argv = [...(options.wrapper ?? []), process.execPath, ...(options.nodeFlags ?? []), ...args];
  const stdout = options.onStdout;
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', stdout === undefined ? 'ignore' : 'pipe', 'pipe'],
  });
  if (stdout !== undefined) child.stdout?.setEncoding('utf8').on('data', stdout);
  let text = '';
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start: ${text}`));
    }, options.startMs ?? 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /listening address=(\S+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}: ${text}`));
    });
  });
  const pid = child.pid as number;
  return {
    origin,
    pid,
    cpuSeconds: () => cpuSecondsOf(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system) of a process, in seconds, from /proc/PID/stat (clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), which ends with the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
