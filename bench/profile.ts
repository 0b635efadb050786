// node build/bench/profile.js serve|proxy|bridge|middleware [--calls N] [--callers C] [--warm-up N] [--sse] [--instructions] [--top K] [--keep FILE]
//
// Where the CPU goes, for issue 21's "profile first": drives `tools/call increment` through one
// of the hops (the gateway, the floor proxy, the stdio bridge, the middleware) against the bench
// server in its own process, and prints the hop's CPU per call and the top entries of its V8 CPU
// profile by self time. With --instructions the hop runs under callgrind instead (instrumented only
// while the calls run) and the figure is instructions per call: a count that the other engineers'
// load on this machine does not move (the middleware, which runs in this process: this script again
// under callgrind, the calls with and without it in alternating blocks).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, bridgedClient, httpClient, increment, LIFELINE_CLI, perRequestSignal } from './clients.js';
import { inclusiveTimes, selfTimes } from './cpu-profile.js';
import { throughput } from './measure.js';
import { cpuSecondsOf, startNodeChild } from './node-child.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    calls: { type: 'string' },
    'warm-up': { type: 'string' },
    callers: { type: 'string' },
    sse: { type: 'boolean' },
    instructions: { type: 'boolean' },
    top: { type: 'string' },
    keep: { type: 'string' },
  },
});
const target = positionals[0] as 'serve' | 'proxy' | 'bridge' | 'middleware';
if (!['serve', 'proxy', 'bridge', 'middleware'].includes(target)) {
  process.stderr.write('usage: profile serve|proxy|bridge|middleware [--calls N] [--callers C] [--sse] [--instructions] [--top K]\n');
  process.exit(2);
}
const calls = Number(values.calls ?? (values.instructions ? 300 : 5000));
const callers = Number(values.callers ?? (target === 'middleware' ? 1 : 8));
const top = Number(values.top ?? 15);
// Calls before the measured ones: enough for V8 to have compiled the hot paths, as in a process that has run for a while.
const warmUp = Number(values['warm-up'] ?? Math.min(500, calls));
const FLOOR_PROXY = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));
// The middleware runs in this process: for its instruction counts, this script runs again under
// callgrind, told the folder its counts go to.
const IN_CALLGRIND = 'LIFELINE_PROFILE_CALLGRIND_DIR';
const dir = process.env[IN_CALLGRIND] ?? mkdtempSync(join(tmpdir(), 'lifeline-profile-'));
const wrapper = values.instructions
  ? ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(dir, 'callgrind.%p')}`]
  : undefined;
const nodeFlags = values.instructions ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];

if (target === 'middleware' && values.instructions && process.env[IN_CALLGRIND] === undefined) {
  const [command, ...args] = [...(wrapper as string[]), process.execPath, '--expose-gc', '--single-threaded', ...process.argv.slice(1)];
  const run = spawnSync(command as string, args, { stdio: ['ignore', 'inherit', 'ignore'], env: { ...process.env, [IN_CALLGRIND]: dir } });
  rmSync(dir, { recursive: true, force: true });
  process.exit(run.status ?? 1);
}

const server = await startServerProcess({ jsonResponse: values.sse !== true });
try {
  if (target === 'middleware' && values.instructions) await countMiddlewareInstructions(server.url);
  else if (target === 'middleware') await profileMiddleware(server.url);
  else await profileChild(server.url);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

/** serve, the floor proxy or the bridge, each a process of its own. */
async function profileChild(upstream: string): Promise<void> {
  let client: BenchClient;
  let pid: number;
  let stop: () => Promise<void>;
  const startMs = values.instructions ? 180_000 : 15_000;
  if (target === 'bridge') {
    client = await bridgedClient(upstream, 'lifeline', wrapper === undefined ? { nodeFlags } : { wrapper });
    pid = client.pid as number;
    stop = () => client.close();
  } else {
    const script = target === 'serve' ? [LIFELINE_CLI, 'serve', upstream, '--port', '0'] : [FLOOR_PROXY, upstream];
    const child = await startNodeChild(script, wrapper === undefined ? { nodeFlags, startMs } : { wrapper, startMs });
    client = await httpClient(`${child.origin}/mcp`, { lifeline: false, fetch: perRequestSignal });
    pid = child.pid;
    stop = async () => {
      await client.close();
      await child.stop();
    };
  }
  const call = increment(client.client);
  await throughput(call, warmUp, callers);
  if (values.instructions) execFileSync('callgrind_control', ['--instr=on', String(pid)], { stdio: 'ignore' });
  const cpuBefore = cpuSecondsOf(pid);
  const rate = await throughput(call, calls, callers);
  const cpu = cpuSecondsOf(pid) - cpuBefore;
  if (values.instructions) {
    execFileSync('callgrind_control', ['--dump=calls', String(pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--instr=off', String(pid)], { stdio: 'ignore' });
  }
  await stop();
  process.stdout.write(
    `${target}, ${values.sse ? 'SSE' : 'JSON'} answers, ${calls} calls, ${callers} callers: ${Math.round(rate)} calls/s\n`,
  );
  if (values.instructions) {
    const dump = readdirSync(dir).find((name) => /^callgrind\.\d+\.\d+$/.test(name));
    const totals = dump === undefined ? undefined : /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
    const instructions = totals === undefined || totals === null ? Number.NaN : Number(totals[1]);
    process.stdout.write(`instructions per call: ${(instructions / calls / 1e6).toFixed(3)} M\n`);
    return;
  }
  process.stdout.write(`CPU per call: ${((cpu / calls) * 1000).toFixed(3)} ms\n`);
  printTop(join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) ?? 'none'));
}

/** The middleware, in this process: the SDK client's calls through withSessionRecovery, profiled through the inspector. */
async function profileMiddleware(upstream: string): Promise<void> {
  const lifeline = await httpClient(upstream, { lifeline: true });
  const plain = await httpClient(upstream, { lifeline: false, fetch: perRequestSignal });
  try {
    for (const client of [plain, lifeline]) await throughput(increment(client.client), warmUp, callers);
    // CPU per call of each, in alternating blocks.
    const cpu = { plain: 0, lifeline: 0 };
    for (let round = 0; round < 6; round++) {
      for (const [name, client] of [
        ['plain', plain],
        ['lifeline', lifeline],
      ] as const) {
        const before = process.cpuUsage();
        await throughput(increment(client.client), Math.ceil(calls / 6), callers);
        const used = process.cpuUsage(before);
        cpu[name] += (used.user + used.system) / 1000;
      }
    }
    const perCall = (ms: number) => (ms / (6 * Math.ceil(calls / 6))).toFixed(3);
    process.stdout.write(
      `middleware, ${values.sse ? 'SSE' : 'JSON'} answers: client CPU per call ${perCall(cpu.lifeline)} ms with it, ${perCall(cpu.plain)} ms plain fetch\n`,
    );
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await throughput(increment(lifeline.client), calls, callers);
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const path = join(dir, 'middleware.cpuprofile');
    writeFileSync(path, JSON.stringify(profile));
    printTop(path);
  } finally {
    await plain.close();
    await lifeline.close();
  }
}

/**
 * Instructions per call of the SDK client's calls with and without the middleware, in this process
 * (run under callgrind, instrumented only around each block of calls), in alternating blocks. A
 * block of no calls measures what toggling the instrumentation itself costs; it is subtracted.
 */
async function countMiddlewareInstructions(upstream: string): Promise<void> {
  const control = promisify(execFile);
  const lifeline = await httpClient(upstream, { lifeline: true });
  const plain = await httpClient(upstream, { lifeline: false, fetch: perRequestSignal });
  const dumps = () =>
    readdirSync(dir)
      .map((name) => /^callgrind\.\d+\.(\d+)$/.exec(name))
      .filter((match) => match !== null)
      .sort((a, b) => Number(b[1]) - Number(a[1]));
  const block = async (client: BenchClient | undefined, count: number): Promise<number> => {
    // Each block starts from a collected heap, so a major collection lands in none of them by chance.
    (globalThis as { gc?: () => void }).gc?.();
    await control('callgrind_control', ['--instr=on', String(process.pid)]);
    await control('callgrind_control', ['--zero', String(process.pid)]);
    if (client !== undefined) for (let i = 0; i < count; i++) await client.client.callTool({ name: 'increment', arguments: {} });
    await control('callgrind_control', ['--dump', String(process.pid)]);
    await control('callgrind_control', ['--instr=off', String(process.pid)]);
    const latest = dumps()[0];
    const totals = latest === undefined ? null : /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, latest[0]), 'utf8'));
    return totals === null ? Number.NaN : Number(totals[1]);
  };
  try {
    // Long enough a warm-up for V8 to have compiled the hot paths of both with its optimizing tier.
    for (const client of [plain, lifeline]) await throughput(increment(client.client), Math.max(2000, calls), 1);
    const counts = { plain: [] as number[], lifeline: [] as number[], empty: [] as number[] };
    for (let round = 0; round < 3; round++) {
      counts.empty.push(await block(undefined, 0));
      counts.plain.push(await block(plain, calls));
      counts.lifeline.push(await block(lifeline, calls));
    }
    const empty = Math.min(...counts.empty);
    const perCall = (totals: number[]) => totals.map((total) => (total - empty) / calls / 1e6);
    const [withIt, without] = [perCall(counts.lifeline), perCall(counts.plain)];
    const show = (figures: number[]) => figures.map((figure) => figure.toFixed(3)).join(', ');
    process.stdout.write(
      `middleware, ${values.sse ? 'SSE' : 'JSON'} answers, ${calls} calls a block: instructions per call ${show(withIt)} M with it, ${show(without)} M plain fetch (${show(withIt.map((figure, index) => figure / (without[index] as number)))}×)\n`,
    );
  } finally {
    await plain.close();
    await lifeline.close();
  }
}

function printTop(path: string): void {
  // `--keep FILE`: the profile, for a closer look (Chrome DevTools, speedscope).
  if (values.keep !== undefined) writeFileSync(values.keep, readFileSync(path));
  const { entries, busyUs } = selfTimes(path);
  process.stdout.write(`busy ${(busyUs / 1000).toFixed(0)} ms; top ${top} by self time:\n`);
  for (const entry of entries.slice(0, top)) {
    process.stdout.write(`  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.where}\n`);
  }
  process.stdout.write(`top ${top} of the project's functions by inclusive time:\n`);
  for (const entry of inclusiveTimes(path, /\/(?:dist|build)\/src\//).slice(0, top)) {
    process.stdout.write(`  ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.where}\n`);
  }
}
