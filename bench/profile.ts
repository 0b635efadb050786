// node build/bench/profile.js serve|proxy|bridge|middleware [--calls N] [--callers C] [--warm-up N] [--sse] [--instructions] [--top K] [--keep FILE]
// node build/bench/profile.js serve|proxy [--initialize [--part initialize]] [--calls N] [--warm-up N] [--instructions [--cache-sim]] [--gc] [--top K] [--keep FILE]
// node build/bench/profile.js serve|proxy|bridge --alloc [--initialize] [--calls N] [--warm-up N] [--top K]
//
// Where the CPU goes, for issue 21's "profile first": drives `tools/call increment` through one
// of the hops (the gateway, the floor proxy, the stdio bridge, the middleware) against the bench
// server in its own process, and prints the hop's CPU per call and the top entries of its V8 CPU
// profile by self time. With --instructions the hop runs under callgrind instead (instrumented only
// while the calls run) and the figure is instructions per call: a count that the other engineers'
// load on this machine does not move (the middleware, which runs in this process: this script again
// under callgrind, the calls with and without it in alternating blocks).
//
// With --initialize, what is driven is a new session's life as the gateway scenario times it (one
// caller: POST initialize, then DELETE; bench/initialize-pair.ts), and the figures are per pair;
// under callgrind, the top functions by self and inclusive instructions follow. --gc runs the hop
// with --trace-gc and counts its collections per call (or pair): allocation shows as scavenges.
// --part initialize: after the warm-up, initializes alone, each session left open (a pair's DELETE
// costs the difference; serve's admission then looks through more open sessions, a few K instructions).
// --alloc: what the hop allocates per call (or pair), by the function that allocated it: V8's
// sampling heap profiler in the hop's process (bench/alloc-sampler.ts), garbage included, over the
// measured calls only.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startServerProcess } from './bench-server-process.js';
import { type BenchClient, bridgedClient, httpClient, increment, LIFELINE_CLI, perRequestSignal } from './clients.js';
import { inclusiveTimes, selfTimes } from './cpu-profile.js';
import { initializeAndEnd, openSession } from './initialize-pair.js';
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
    initialize: { type: 'boolean' },
    gc: { type: 'boolean' },
    alloc: { type: 'boolean' },
    'cache-sim': { type: 'boolean' },
    part: { type: 'string' },
  },
});
const target = positionals[0] as 'serve' | 'proxy' | 'bridge' | 'middleware';
// (--gc: the bridge's stdout is its JSON-RPC channel, where --trace-gc would write.)
if (
  !['serve', 'proxy', 'bridge', 'middleware'].includes(target) ||
  ((values.initialize || values.gc) && !['serve', 'proxy'].includes(target)) ||
  (values.alloc && (target === 'middleware' || values.instructions)) ||
  (values.part !== undefined && (values.part !== 'initialize' || !values.initialize))
) {
  process.stderr.write(
    'usage: profile serve|proxy|bridge|middleware [--calls N] [--callers C] [--sse] [--instructions] [--top K]\n' +
      '       profile serve|proxy [--initialize [--part initialize]] [--calls N] [--instructions [--cache-sim]] [--gc] [--top K]\n',
  );
  process.exit(2);
}
const calls = Number(values.calls ?? (values.instructions ? 300 : 5000));
// Sessions are opened one after the other, as the gateway scenario times them.
const callers = values.initialize ? 1 : Number(values.callers ?? (target === 'middleware' ? 1 : 8));
const unit = values.initialize ? 'pair' : 'call';
const top = Number(values.top ?? 15);
// Calls before the measured ones: enough for V8 to have compiled the hot paths, as in a process that has run for a while.
// Sessions (initialize + DELETE): V8 goes on optimizing for a few thousand of them (--trace-opt), hence longer.
const warmUp = Number(values['warm-up'] ?? (values.initialize ? Math.max(values.instructions ? 3000 : 1000, calls) : Math.min(500, calls)));
const FLOOR_PROXY = fileURLToPath(new URL('./floor-proxy.js', import.meta.url));
// The middleware runs in this process: for its instruction counts, this script runs again under
// callgrind, told the folder its counts go to.
const IN_CALLGRIND = 'LIFELINE_PROFILE_CALLGRIND_DIR';
const dir = process.env[IN_CALLGRIND] ?? mkdtempSync(join(tmpdir(), 'lifeline-profile-'));
// --cache-sim: callgrind also simulates the caches (L1 and last level), for code whose cost is in
// what it touches rather than in its instructions.
const wrapper = values.instructions
  ? [
      'valgrind',
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'callgrind.%p')}`,
      ...(values['cache-sim'] ? ['--cache-sim=yes', ...(process.env.LL === undefined ? [] : [`--LL=${process.env.LL}`])] : []),
    ]
  : undefined;
// Under callgrind, V8 writes a map of the code it compiles (/tmp/perf-PID.map), to name what callgrind cannot.
const nodeFlags = [
  // (V8 also writes a log with it: into the temporary folder, not the working directory.)
  ...(values.instructions
    ? ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(dir, 'v8.log')}`]
    : ['--cpu-prof', `--cpu-prof-dir=${dir}`]),
  ...(values.gc ? ['--trace-gc'] : []),
  ...(values.alloc ? [`--import=${fileURLToPath(new URL('./alloc-sampler.js', import.meta.url))}`] : []),
];
const ALLOC_PROFILE = join(dir, 'alloc.heapprofile');
// Whether the hop's sampling heap profiler runs (--alloc).
let sampling = false;
if (values.alloc) process.env['LIFELINE_ALLOC_PROFILE'] = ALLOC_PROFILE;

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
  let call: () => Promise<unknown>;
  // What is measured, when not the calls of the warm-up.
  let measured: (() => Promise<unknown>) | undefined;
  let pid: number;
  let stop: () => Promise<void>;
  const startMs = values.instructions ? 180_000 : 15_000;
  const gc = gcCounter();
  // One dump per thread: the main thread's work apart from V8's background threads (compiling, marking).
  const how = wrapper === undefined ? { nodeFlags } : { wrapper: [...wrapper, '--separate-threads=yes'], nodeFlags };
  if (target === 'bridge') {
    const client = await bridgedClient(upstream, 'lifeline', how);
    call = increment(client.client);
    pid = client.pid as number;
    stop = () => client.close();
  } else {
    // `--part initialize`: the measured sessions are left open (serve ends none to make room for more).
    const serveArgs = values.part === 'initialize' ? ['--max-sessions-per-caller', String(calls + 1)] : [];
    const script = target === 'serve' ? [LIFELINE_CLI, 'serve', upstream, '--port', '0', ...serveArgs] : [FLOOR_PROXY, upstream];
    const child = await startNodeChild(script, { ...how, startMs, onStdout: (text) => gc.read(text) });
    pid = child.pid;
    if (values.initialize) {
      const url = `${child.origin}/mcp`;
      call = () => initializeAndEnd(url);
      if (values.part === 'initialize') measured = () => openSession(url);
      stop = child.stop;
    } else {
      const client = await httpClient(`${child.origin}/mcp`, { lifeline: false, fetch: perRequestSignal });
      call = increment(client.client);
      stop = async () => {
        await client.close();
        await child.stop();
      };
    }
  }
  await throughput(call, warmUp, callers);
  if (values.instructions) execFileSync('callgrind_control', ['--instr=on', String(pid)], { stdio: 'ignore' });
  if (values.alloc) await toggleSampling(pid);
  const cpuBefore = cpuSecondsOf(pid);
  const gcBefore = await gc.settled();
  const rate = await throughput(measured ?? call, calls, callers);
  const cpu = cpuSecondsOf(pid) - cpuBefore;
  if (values.instructions) {
    execFileSync('callgrind_control', ['--dump=calls', String(pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--instr=off', String(pid)], { stdio: 'ignore' });
  }
  const gcDuring = gcBetween(gcBefore, await gc.settled());
  if (values.alloc) await toggleSampling(pid);
  await stop();
  const what = values.initialize ? 'initialize + DELETE' : `${values.sse ? 'SSE' : 'JSON'} answers`;
  process.stdout.write(`${target}, ${what}, ${calls} ${unit}s, ${callers} callers: ${Math.round(rate)} ${unit}s/s\n`);
  if (values.gc) {
    const per = (count: number) => (count / calls).toFixed(3);
    process.stdout.write(
      `GC per ${unit}: ${per(gcDuring.scavenges)} scavenges, ${per(gcDuring.markCompacts)} mark-compacts; ${(gcDuring.pauseMs / calls).toFixed(4)} ms of pauses (${gcDuring.pauseMs.toFixed(1)} ms in all); ${((gcDuring.allocatedMb * 1024) / calls).toFixed(1)} KB allocated\n`,
    );
  }
  if (values.instructions) {
    // callgrind.PID.1-TT: the first dump, thread TT (01: the main thread).
    const dumps = readdirSync(dir).filter((name) => /^callgrind\.\d+\.1-\d+$/.test(name));
    const count = (name: string) => Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, name), 'utf8'))?.[1] ?? Number.NaN);
    const all = dumps.reduce((sum, name) => sum + count(name), 0);
    const main = dumps.find((name) => name.endsWith('-01'));
    const perUnit = (instructions: number) => `${(instructions / calls / 1e6).toFixed(3)} M`;
    process.stdout.write(
      `instructions per ${unit}: ${perUnit(dumps.length === 0 ? Number.NaN : all)} (main thread ${perUnit(main === undefined ? Number.NaN : count(main))})\n`,
    );
    if (main !== undefined && values['cache-sim']) printCacheMisses(readFileSync(join(dir, main), 'utf8'));
    if (main !== undefined) printCallgrindTop(join(dir, main), pid);
    return;
  }
  process.stdout.write(`CPU per ${unit}: ${((cpu / calls) * 1000).toFixed(3)} ms\n`);
  if (values.alloc) return printAllocation(ALLOC_PROFILE);
  printTop(join(dir, readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) ?? 'none'));
}

/**
 * The top functions of a callgrind dump (the main thread's) by self and by inclusive instructions,
 * per call (or pair). Native frames (V8's builtins and GC, libuv, zlib, OpenSSL) have names; code
 * V8 compiled at run time is an address to callgrind, named here from V8's perf map.
 */
function printCallgrindTop(path: string, pid: number): void {
  if (values.keep !== undefined) writeFileSync(values.keep, readFileSync(path));
  const jit = jitNames(pid);
  for (const inclusive of [false, true]) {
    const text = execFileSync('callgrind_annotate', [`--inclusive=${inclusive ? 'yes' : 'no'}`, '--threshold=100', '--auto=no', path], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const rows = text
      .split('\n')
      .map((line) => /^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.+)$/.exec(line))
      .filter((match) => match !== null && !/PROGRAM TOTALS/.test(match[2] as string))
      .slice(0, top) as RegExpExecArray[];
    process.stdout.write(`top ${top} by ${inclusive ? 'inclusive' : 'self'} instructions, thousands per ${unit}:\n`);
    for (const [, count, where] of rows) {
      const perUnit = Number((count as string).replaceAll(',', '')) / calls / 1000;
      const address = /^\?\?\?:0x([0-9a-f]+) /.exec(where as string)?.[1];
      const name = (address === undefined ? undefined : jit(Number.parseInt(address, 16))) ?? (where as string).replace(/^\?\?\?:/, '');
      process.stdout.write(`  ${perUnit.toFixed(1).padStart(8)}  ${name.slice(0, 160)}\n`);
    }
  }
}

/** The main thread's simulated cache misses per call (or pair), from a dump's `events:` and `totals:` lines. */
function printCacheMisses(dump: string): void {
  const events = /^events: (.+)$/m.exec(dump)?.[1]?.split(' ') ?? [];
  const totals = /^(?:summary|totals): (.+)$/m.exec(dump)?.[1]?.split(' ').map(Number) ?? [];
  const figures = events.map((event, index) => `${event} ${((totals[index] ?? Number.NaN) / calls / 1000).toFixed(1)} K`);
  process.stdout.write(`main thread per ${unit}: ${figures.join(', ')}\n`);
}

/** Names of the code V8 compiled or placed at run time, from the map --perf-basic-prof writes (then deleted). */
function jitNames(pid: number): (address: number) => string | undefined {
  const path = `/tmp/perf-${pid}.map`;
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
    if (values.keep !== undefined) writeFileSync(`${values.keep}.map`, text);
    rmSync(path, { force: true });
  } catch {
    return () => undefined;
  }
  // Later entries win: code is moved and its space reused.
  const entries = text
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.+)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({
      start: Number.parseInt(match[1] as string, 16),
      size: Number.parseInt(match[2] as string, 16),
      name: match[3] as string,
    }));
  return (address) => {
    for (let index = entries.length - 1; index >= 0; index--) {
      const entry = entries[index] as (typeof entries)[number];
      if (address >= entry.start && address < entry.start + entry.size) return `${entry.name} [JIT]`;
    }
    return undefined;
  };
}

/** Collections of a child's heap, their pauses, and what was allocated between them. */
interface GcTally {
  scavenges: number;
  markCompacts: number;
  pauseMs: number;
  /** Heap growth between collections, summed: what the code allocated. */
  allocatedMb: number;
}

/**
 * Collections a child reports with --trace-gc (on its stdout), counted as the lines arrive; a
 * function (hoisted), as the script's top level runs before any class would be defined.
 */
function gcCounter(): { read(text: string): void; settled(): Promise<GcTally> } {
  const tally: GcTally = { scavenges: 0, markCompacts: 0, pauseMs: 0, allocatedMb: 0 };
  let partial = '';
  let heapAfterLast: number | undefined;
  return {
    read(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (/: Scavenge\b/.test(line)) tally.scavenges += 1;
        else if (/: Mark-Compact\b/.test(line)) tally.markCompacts += 1;
        else continue;
        tally.pauseMs += Number(/MB, ([\d.]+) \/ [\d.]+ ms/.exec(line)?.[1] ?? 0);
        // `Scavenge 12.3 (15.0) -> 4.5 (16.0) MB`: the heap before and after, in use (and reserved).
        const heap = /([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
        if (heap === null) continue;
        if (heapAfterLast !== undefined) tally.allocatedMb += Math.max(0, Number(heap[1]) - heapAfterLast);
        heapAfterLast = Number(heap[2]);
      }
    },
    // The counts so far, once what the child wrote has had time to arrive.
    async settled() {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { ...tally };
    },
  };
}

function gcBetween(before: GcTally, after: GcTally): GcTally {
  return {
    scavenges: after.scavenges - before.scavenges,
    markCompacts: after.markCompacts - before.markCompacts,
    pauseMs: after.pauseMs - before.pauseMs,
    allocatedMb: after.allocatedMb - before.allocatedMb,
  };
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

/** Starts or stops the sampling heap profiler in the hop (bench/alloc-sampler.ts); a stop waits for its profile. */
async function toggleSampling(pid: number): Promise<void> {
  sampling = !sampling;
  process.kill(pid, 'SIGUSR2');
  // A signal is handled on the hop's next turn: give it one before the calls start.
  if (sampling) return void (await sleep(200));
  const deadline = Date.now() + 10_000;
  while (!existsSync(ALLOC_PROFILE)) {
    if (Date.now() > deadline) throw new Error('the hop wrote no allocation profile within 10 s');
    await sleep(20);
  }
  await sleep(50);
}

interface SamplingNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly SamplingNode[];
}

/** Bytes allocated per call (or pair), in all and by the function that allocated them. */
function printAllocation(path: string): void {
  const bySite = new Map<string, number>();
  const walk = (node: SamplingNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const site = `${functionName || '(anonymous)'} (${url.replace(/^file:\/\/.*?\/(build|node_modules)\//, '$1/')}:${lineNumber + 1})`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk((JSON.parse(readFileSync(path, 'utf8')) as { head: SamplingNode }).head);
  const total = [...bySite.values()].reduce((sum, bytes) => sum + bytes, 0);
  process.stdout.write(`allocated per ${unit} (sampled, garbage included): ${(total / calls / 1024).toFixed(1)} KB; top ${top} by site:\n`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${String(Math.round(bytes / calls)).padStart(8)} B  ${site}\n`);
  }
}
