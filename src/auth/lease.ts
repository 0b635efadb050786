import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { check, lock } from 'proper-lockfile';
import { SignInError } from './SignInError.js';
import type { SignInPrompt } from './session-options.js';

// One lease per server covers sign-in and refresh, across every process of the user (three hosts
// starting the same server, a bridge restarted while a sign-in is open). proper-lockfile takes it
// with mkdir (atomic on local and network file systems) and keeps the directory's mtime fresh while
// the holder lives; a holder that died leaves a lease that turns stale after `staleMs` and is taken
// over. Waiters poll, and read the holder's result from the store once it is released: a process
// that waited never repeats what the holder just did (no second refresh of a rotated token, no
// second browser window), and never deletes what the holder wrote.

/** Who holds a lease, written next to it for the processes that wait. */
export interface LeaseOwner {
  readonly pid: number;
  /** What the holder is doing: `refresh`, `sign-in`, `logout`. */
  readonly purpose: string;
  /** Since when, in ms since the epoch. */
  readonly since: number;
  /** When the holder gives up at the latest (a sign-in's bound), in ms since the epoch. */
  readonly until?: number | undefined;
  /** What the holder waits for the user to do: a sign-in's prompt (the URL to open, a code to enter). */
  readonly prompt?: SignInPrompt | undefined;
}

/** The lease, as its holder sees it. */
export interface HeldLease {
  /** Tells the processes that wait more about this holder: its bound, what the user must do. */
  describe(detail: Pick<LeaseOwner, 'until' | 'prompt'>): Promise<void>;
}

/** Options of {@linkcode withLease}. */
export interface LeaseOptions {
  /** How long to wait for another holder, in ms. */
  readonly waitMs: number;
  /** What this holder will do, for waiters' messages. */
  readonly purpose: string;
  /** Called once if another process holds the lease, before waiting for it. */
  readonly onWait?: ((owner: LeaseOwner | undefined) => void) | undefined;
  /**
   * Called while waiting, each time the holder says more about itself (its prompt is known only
   * once its browser opened, often after this process began to wait), with what it said before.
   */
  readonly onOwnerChange?: ((owner: LeaseOwner, previous: LeaseOwner | undefined) => void) | undefined;
  /** A lease whose holder stopped refreshing it for this long is taken over. @default 10_000 */
  readonly staleMs?: number | undefined;
  /** How often waiters look again, in ms. @default 100 */
  readonly pollMs?: number | undefined;
}

export const DEFAULT_LEASE_STALE_MS = 10_000;
const DEFAULT_POLL_MS = 100;

/**
 * Runs `work` while holding the lease on `file` (the lease itself is `file + ".lock"`); waits at
 * most `waitMs` for another holder. Throws a `LEASE_TIMEOUT` {@linkcode SignInError} when the
 * wait runs out.
 */
export async function withLease<T>(file: string, options: LeaseOptions, work: (lease: HeldLease) => Promise<T>): Promise<T> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const staleMs = options.staleMs ?? DEFAULT_LEASE_STALE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const base = {
    realpath: false,
    lockfilePath: `${file}.lock`,
    stale: staleMs,
    update: Math.max(1000, Math.floor(staleMs / 2)),
    // The default throws from a timer, which would crash the process; the holder finishes its
    // work instead (its writes are atomic, and the next reader sees whichever came last).
    onCompromised: () => {},
  };
  let release: () => Promise<void>;
  try {
    release = await lock(file, { ...base, retries: 0 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const owner = await readOwner(file);
    options.onWait?.(owner);
    const watch = options.onOwnerChange === undefined ? undefined : new OwnerWatch(file, owner, pollMs, options.onOwnerChange);
    try {
      release = await lock(file, {
        ...base,
        retries: { retries: Math.ceil(options.waitMs / pollMs), factor: 1, minTimeout: pollMs, maxTimeout: pollMs },
      });
    } catch (waitError) {
      if ((waitError as NodeJS.ErrnoException).code !== 'ELOCKED') throw waitError;
      const holder = (await readOwner(file)) ?? owner;
      const who = holder === undefined ? 'another process' : `process ${holder.pid} (${holder.purpose})`;
      throw new SignInError(
        'LEASE_TIMEOUT',
        `${who} held the sign-in lease on ${file} for more than ${Math.round(options.waitMs / 1000)} s`,
      );
    } finally {
      watch?.stop();
    }
  }
  const ownerFile = `${file}.owner`;
  let owner: LeaseOwner = { pid: process.pid, purpose: options.purpose, since: Date.now() };
  // Whole or not at all: a waiter never reads half a file.
  let writing = writeOwner(ownerFile, owner);
  const lease: HeldLease = {
    describe(detail) {
      owner = { ...owner, ...detail };
      const next = owner;
      writing = writing.then(() => writeOwner(ownerFile, next));
      return writing;
    },
  };
  try {
    return await work(lease);
  } finally {
    await writing;
    await rm(ownerFile, { force: true }).catch(() => {});
    await release().catch(() => {});
  }
}

/**
 * Who holds the lease on `file` now: undefined when nobody does (a lease whose holder died is
 * free once stale); `owner` is undefined in the moment between taking a lease and saying who took it.
 */
export async function leaseHolder(
  file: string,
  staleMs = DEFAULT_LEASE_STALE_MS,
): Promise<{ readonly owner: LeaseOwner | undefined } | undefined> {
  const held = await check(file, { realpath: false, lockfilePath: `${file}.lock`, stale: staleMs }).catch(() => false);
  return held ? { owner: await readOwner(file) } : undefined;
}

/** Reads the holder's record every `pollMs` and reports each new version of it, until stopped. */
class OwnerWatch {
  /** The holder's record as last reported (as JSON: a version is told apart by what it says). */
  private last: { readonly owner: LeaseOwner | undefined; readonly text: string };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly file: string;
  private readonly pollMs: number;
  private readonly onChange: NonNullable<LeaseOptions['onOwnerChange']>;

  constructor(file: string, first: LeaseOwner | undefined, pollMs: number, onChange: NonNullable<LeaseOptions['onOwnerChange']>) {
    this.file = file;
    this.pollMs = pollMs;
    this.onChange = onChange;
    this.last = { owner: first, text: JSON.stringify(first) };
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.look(), this.pollMs);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    const owner = await readOwner(this.file);
    if (this.stopped) return;
    const text = JSON.stringify(owner);
    if (owner !== undefined && text !== this.last.text) {
      const previous = this.last.owner;
      this.last = { owner, text };
      try {
        this.onChange(owner, previous);
      } catch {
        // A listener's failure must not end the wait (this runs from a timer).
      }
    }
    this.schedule();
  }
}

async function writeOwner(ownerFile: string, owner: LeaseOwner): Promise<void> {
  const temporary = `${ownerFile}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(owner), { mode: 0o600 })
    .then(() => rename(temporary, ownerFile))
    .catch(() => rm(temporary, { force: true }).catch(() => {}));
}

async function readOwner(file: string): Promise<LeaseOwner | undefined> {
  try {
    return JSON.parse(await readFile(`${file}.owner`, 'utf8')) as LeaseOwner;
  } catch {
    return undefined;
  }
}
