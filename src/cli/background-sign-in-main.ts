// The background sign-in's process (see background-sign-in.ts): reads its task on stdin, signs in
// under the lease, exits 0 when signed in, 2 when the sign-in failed (the store says why), 3 on a
// fault. It writes nothing but its log file: no bridge may be left to read its stdio.
import type { Challenge } from '../auth/challenge.js';
import type { BackgroundSignIn } from './background-sign-in.js';

// Its task is a few KB; anything larger is not one.
const MAX_TASK_BYTES = 1024 * 1024;
// However the sign-in goes, this process ends: the lease wait and the user's bound, and a margin.
const LIFETIME_MARGIN_MS = 60_000;

async function readTask(): Promise<BackgroundSignIn> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > MAX_TASK_BYTES) throw new Error('the task is too large');
  }
  return JSON.parse(text) as BackgroundSignIn;
}

async function run(): Promise<number> {
  const task = await readTask();
  setTimeout(() => process.exit(3), 2 * task.flags.signInTimeoutMs + 30_000 + LIFETIME_MARGIN_MS).unref();
  const [{ createCliSession }, { createLogger }, { openLogFile }, { createOutbound }, { installGlobalDispatcher }, { networkSettings }] =
    await Promise.all([
      import('./oauth-fetch.js'),
      import('./logger.js'),
      import('./log-file.js'),
      import('./outbound.js'),
      import('../upstream/global-dispatcher.js'),
      import('./background-sign-in.js'),
    ]);
  // The bridge's proxy and CAs: Node's fetch, which the sign-in uses, follows the global dispatcher.
  installGlobalDispatcher(createOutbound(networkSettings(task.network), process.env));
  const file = task.log.file === undefined ? undefined : openLogFile(task.log.file, () => {});
  const out = file ?? { write: () => true };
  // The bridges say what happens; this log adds the details at debug, and otherwise only a failure
  // (the one line left when no bridge is).
  const log = createLogger({ level: task.log.level === 'debug' ? 'debug' : 'error', format: task.log.format, out });
  const where = `${task.url} (background sign-in, process ${process.pid})`;
  const session = createCliSession(new URL(task.url), task.flags, { log, env: process.env });
  const challenge: Challenge = {
    resourceMetadataUrl: task.challenge.resourceMetadataUrl === undefined ? undefined : new URL(task.challenge.resourceMetadataUrl),
    scope: task.challenge.scope,
  };
  try {
    await session.renew({ rejected: task.rejected, challenge, interactive: true, stepUp: task.stepUp });
    return 0;
  } catch (error) {
    // The outcome is in the store (lastSignIn), where the bridges read it; the log says it too.
    log.error(`sign-in failed: ${(error as Error).message}`, { server: where });
    return 2;
  } finally {
    file?.close();
  }
}

run().then(
  (code) => process.exit(code),
  () => process.exit(3),
);
