import { chmod, stat } from 'node:fs/promises';
import { SignInError } from './SignInError.js';

/** The store directory was readable by other users, and its mode is now 0700. */
export interface StoreRepair {
  readonly directory: string;
  /** The mode it had (permission bits), e.g. 0o755. */
  readonly mode: number;
}

/**
 * The sign-in store's directory must be this user's alone, as ssh wants `~/.ssh`:
 * - missing: fine (it is created with mode 0700);
 * - readable or searchable by others (0755, 0750, 0711): set to 0700, and `onRepair` is told;
 * - writable by others (0775, 0777), or owned by another user: refused with a `STORE_INSECURE`
 *   {@linkcode SignInError} that says how to fix it. Someone else could have replaced the
 *   sign-ins in it, so it is not made private silently.
 * POSIX modes only: nothing is checked on Windows, where the directory is under the user's profile.
 */
export async function checkStoreDirectory(directory: string, onRepair?: (repair: StoreRepair) => void): Promise<void> {
  if (process.platform === 'win32') return;
  let stats: Awaited<ReturnType<typeof stat>>;
  try {
    stats = await stat(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const where = `the sign-in store ${directory}`;
  if (!stats.isDirectory())
    throw new SignInError('STORE_INSECURE', `${where} is not a directory; move it away or set MCP_LIFELINE_CONFIG_DIR`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new SignInError(
      'STORE_INSECURE',
      `${where} belongs to another user (uid ${stats.uid}, not ${uid}); refusing to keep sign-ins there. ` +
        'Use a directory of your own (MCP_LIFELINE_CONFIG_DIR), or remove it and sign in again',
    );
  }
  const mode = stats.mode & 0o777;
  const octal = `0${mode.toString(8)}`;
  if ((mode & 0o022) !== 0) {
    throw new SignInError(
      'STORE_INSECURE',
      `${where} is writable by other users (mode ${octal}): they could have replaced the sign-ins in it; refusing to use it. ` +
        `Check its files (or remove them and sign in again), then run: chmod 700 '${directory}'`,
    );
  }
  if ((mode & 0o077) === 0) return;
  try {
    await chmod(directory, 0o700);
  } catch (error) {
    throw new SignInError(
      'STORE_INSECURE',
      `${where} is readable by other users (mode ${octal}) and its mode cannot be changed (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
        `run: chmod 700 '${directory}'`,
    );
  }
  onRepair?.({ directory, mode });
}
