import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { canonicalServerUrl } from './canonical-server-url.js';
import { configDir } from './config-dir.js';
import { checkStoreDirectory, type StoreRepair } from './store-directory.js';

/**
 * The layout of the files below. A later layout reads this one and migrates it; the package
 * version never appears in a path or a key, so upgrading keeps every sign-in.
 */
export const STORE_LAYOUT = 1;

/** Tokens as stored: the SDK's, plus when they were obtained and when the access token expires. */
export interface StoredTokens extends OAuthTokens {
  /** When the tokens were received, in ms since the epoch. */
  readonly obtained_at: number;
  /** When the access token expires, in ms since the epoch; absent when the server did not say. */
  readonly expires_at?: number | undefined;
}

/** What one authorization server (issuer) granted for one resource of the server. */
export interface StoredGrant {
  /** The authorization server the client and tokens are bound to. */
  readonly issuer: string;
  /** The RFC 8707 resource indicator the tokens are for. */
  readonly resource: string;
  client?: OAuthClientInformationMixed | undefined;
  tokens?: StoredTokens | undefined;
  /** The scope asked for at the last authorization: a step-up asks for its union with the new one. */
  scope?: string | undefined;
}

/** How the last sign-in attempt ended, so processes that waited for it learn its outcome. */
interface SignInOutcome {
  readonly at: number;
  readonly pid: number;
  readonly ok: boolean;
  /** For a failure: the error message (never a token). */
  readonly message?: string | undefined;
  readonly code?: string | undefined;
}

/** Everything stored for one MCP server, in one file. */
export interface ServerRecord {
  readonly layout: typeof STORE_LAYOUT;
  /** The canonical server URL ({@linkcode canonicalServerUrl}): the key of this record. */
  readonly serverUrl: string;
  /** Where the server sends users to sign in (RFC 9728 and RFC 8414 metadata), cached. */
  discovery?: OAuthDiscoveryState | undefined;
  /** Keyed by `issuer + " " + resource`. */
  grants: Record<string, StoredGrant>;
  lastSignIn?: SignInOutcome | undefined;
}

/** The record as read, with the file's modification time to notice writes by other processes. */
interface ReadRecord {
  readonly record: ServerRecord;
  readonly mtimeMs: number;
}

/** Files holding sign-ins: one per server, written atomically with mode 0600. */
export interface OAuthStore {
  /** The directory holding the files. */
  readonly directory: string;
  /** The file for a server URL (canonicalised first). */
  fileOf(serverUrl: string | URL): string;
  read(serverUrl: string | URL): Promise<ReadRecord | undefined>;
  /** Modification time of the server's file, or undefined when there is none. */
  mtimeOf(serverUrl: string | URL): Promise<number | undefined>;
  /** Writes the record atomically (a temporary file renamed over the old one); resolves with the new mtime. */
  write(record: ServerRecord): Promise<number>;
  /** Deletes the server's file; false when there was none. */
  remove(serverUrl: string | URL): Promise<boolean>;
  /** Every record in the directory, in file-name order. */
  list(): Promise<ServerRecord[]>;
}

/** The default store directory: `<config dir>/oauth/v1`. */
export function defaultStoreDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir({ env }), 'oauth', `v${STORE_LAYOUT}`);
}

/** An empty record for a server. */
export function emptyRecord(serverUrl: string | URL): ServerRecord {
  return { layout: STORE_LAYOUT, serverUrl: canonicalServerUrl(serverUrl), grants: {} };
}

/** The key of a grant in {@linkcode ServerRecord.grants}. */
export function grantKey(issuer: string, resource: string): string {
  return `${issuer} ${resource}`;
}

/** Options of {@linkcode createOAuthStore}. */
export interface OAuthStoreOptions {
  /** Told when the directory was readable by others and its mode was set to 0700. @default undefined */
  readonly onRepair?: ((repair: StoreRepair) => void) | undefined;
}

/**
 * A store in `directory` (created with mode 0700 on first write). Before the first read or write
 * the directory is checked as ssh checks `~/.ssh`: one readable by other users is set to 0700; one
 * writable by other users, or owned by another user, is refused with a `STORE_INSECURE`
 * SignInError that says how to fix it (see {@linkcode checkStoreDirectory}). A file found with a
 * wider mode than 0600 is set to 0600 when read.
 */
export function createOAuthStore(directory: string = defaultStoreDirectory(), options: OAuthStoreOptions = {}): OAuthStore {
  const fileOf = (serverUrl: string | URL) => join(directory, fileName(canonicalServerUrl(serverUrl)));
  // Checked once per store; a refusal is not remembered, so fixing the mode is enough.
  let checked: Promise<void> | undefined;
  const ready = () => {
    checked ??= checkStoreDirectory(directory, options.onRepair).catch((error: unknown) => {
      checked = undefined;
      throw error;
    });
    return checked;
  };

  return {
    directory,
    fileOf,
    async read(serverUrl) {
      await ready();
      const file = fileOf(serverUrl);
      try {
        const [text, stats] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
        if ((stats.mode & 0o077) !== 0 && process.platform !== 'win32') await chmod(file, 0o600);
        const record = parseRecord(text);
        return record === undefined ? undefined : { record, mtimeMs: stats.mtimeMs };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async mtimeOf(serverUrl) {
      await ready();
      try {
        return (await stat(fileOf(serverUrl))).mtimeMs;
      } catch {
        return undefined;
      }
    },
    async write(record) {
      await ready();
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const file = fileOf(record.serverUrl);
      const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The umask may have narrowed the mode further, never widened it; chmod in case the file system ignores it.
      await chmod(temporary, 0o600);
      await rename(temporary, file);
      return (await stat(file)).mtimeMs;
    },
    async remove(serverUrl) {
      const file = fileOf(serverUrl);
      const existed = (await stat(file).catch(() => undefined)) !== undefined;
      await rm(file, { force: true });
      return existed;
    },
    async list() {
      await ready();
      const names = await readdir(directory).catch(() => [] as string[]);
      const records: ServerRecord[] = [];
      for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
        const record = parseRecord(await readFile(join(directory, name), 'utf8').catch(() => ''));
        if (record !== undefined) records.push(record);
      }
      return records;
    },
  };
}

/** `host[_port]-<hash>.json`: readable, and unique per canonical URL (path and query included). */
function fileName(canonicalUrl: string): string {
  const url = new URL(canonicalUrl);
  const host = `${url.hostname}${url.port ? `_${url.port}` : ''}`.replace(/[^A-Za-z0-9.-]/g, '_');
  const hash = createHash('sha256').update(canonicalUrl).digest('hex').slice(0, 16);
  return `${host}-${hash}.json`;
}

/** A record, or undefined for a file that is not one (damaged, or from an unknown layout). */
function parseRecord(text: string): ServerRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<ServerRecord>;
    if (value.layout !== STORE_LAYOUT || typeof value.serverUrl !== 'string' || typeof value.grants !== 'object' || value.grants === null) {
      return undefined;
    }
    return value as ServerRecord;
  } catch {
    return undefined;
  }
}
