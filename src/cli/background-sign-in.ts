// One sign-in for a bridge, in a process of its own (background-sign-in-main.ts), its task as
// one JSON object on stdin (never in argv: a pre-registered client's secret and the refused
// token travel with it). A host closes the bridge whose initialize it was answered with "sign-in
// pending", and kills it seconds later; this process outlives it, holds the sign-in lease while
// the user signs in (bounded by --oauth-timeout), stores the tokens, and exits. Any bridge, this
// one's or the host's next, finds the lease held and joins, or finds the tokens stored.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OAuthFlags } from './auth-args.js';
import type { LogFormat, LogLevel } from './logger.js';
import type { NetworkSettings } from './network-args.js';
import type { NamedProxy } from './proxy-settings.js';

/** What the background process is asked to do: the renewal a host request could not wait for. */
export interface BackgroundSignIn {
  readonly url: string;
  readonly flags: OAuthFlags;
  readonly challenge: { readonly resourceMetadataUrl?: string | undefined; readonly scope?: string | undefined };
  /** The token the server refused (a newer one in the store is taken as it is). */
  readonly rejected: string | undefined;
  readonly stepUp: boolean;
  /** Where it appends its log: the bridge's --log-file (otherwise it says nothing: the bridges read its lease). */
  readonly log: { readonly file: string | undefined; readonly level: LogLevel; readonly format: LogFormat };
  /** The bridge's way out (`--proxy`, `--ca-file`): the authorization server is reached as the MCP server is. */
  readonly network: NetworkTask;
}

/** {@linkcode NetworkSettings} as JSON: proxy URLs as text. */
interface NetworkTask {
  readonly https: { readonly url: string; readonly from: string } | undefined;
  readonly http: { readonly url: string; readonly from: string } | undefined;
  readonly noProxy: string;
  readonly caFiles: readonly string[];
  readonly certificates: readonly string[];
}

/** The bridge's network settings, for the task. */
export function networkTask(settings: NetworkSettings): NetworkTask {
  const named = (proxy: NamedProxy | undefined) => (proxy === undefined ? undefined : { url: proxy.url.href, from: proxy.from });
  const { proxies } = settings;
  return {
    https: named(proxies.https),
    http: named(proxies.http),
    noProxy: proxies.noProxy,
    caFiles: settings.caFiles,
    certificates: settings.certificates,
  };
}

/** The task's network settings, as the background process applies them. */
export function networkSettings(task: NetworkTask): NetworkSettings {
  const named = (proxy: NetworkTask['https']) => (proxy === undefined ? undefined : { url: new URL(proxy.url), from: proxy.from });
  return {
    proxies: { https: named(task.https), http: named(task.http), noProxy: task.noProxy },
    caFiles: task.caFiles,
    certificates: task.certificates,
  };
}

/** A background sign-in this process started. */
export interface StartedSignIn {
  readonly pid: number;
  /** Resolves with its exit code once it ended (null: killed). */
  readonly exited: Promise<number | null>;
}

/** Starts the background sign-in: detached, no stdio but its task, not waited for at exit. */
export function startBackgroundSignIn(task: BackgroundSignIn, env: NodeJS.ProcessEnv): StartedSignIn {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./background-sign-in-main.js', import.meta.url))], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env,
    windowsHide: true,
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  child.stdin?.on('error', () => {});
  child.stdin?.end(JSON.stringify(task));
  child.unref();
  return { pid: child.pid ?? 0, exited };
}
