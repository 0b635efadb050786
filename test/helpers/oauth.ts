import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { builtPath } from './processes.js';

/** The compiled `$BROWSER` script that plays the user. */
export const BROWSER_SCRIPT = builtPath('../fixtures/oauth-browser.js', import.meta.url);

/** One run of the browser script, as it logged it. */
export interface BrowserRun {
  readonly pid: number;
  readonly opened: string;
  readonly outcome: 'callback' | 'done' | 'ignored' | 'stuck' | 'error' | 'too many steps';
  readonly status?: number;
  readonly page?: string;
}

/** A private config directory and browser log for one test, removed after it. */
export interface OAuthSandbox {
  readonly dir: string;
  readonly configDir: string;
  /** Environment for a bridge or session: `$BROWSER` is the test browser, the config dir is private. */
  env(browser?: Record<string, string>): Record<string, string>;
  /** Every browser run so far. */
  browserRuns(): Promise<BrowserRun[]>;
}

export async function oauthSandbox(t: TestContext): Promise<OAuthSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-lifeline-oauth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configDir = join(dir, 'config');
  const log = join(dir, 'browser.log');
  return {
    dir,
    configDir,
    env: (browser = {}) => ({
      MCP_LIFELINE_CONFIG_DIR: configDir,
      BROWSER: `"${process.execPath}" "${BROWSER_SCRIPT}"`,
      OAUTH_BROWSER_LOG: log,
      ...browser,
    }),
    async browserRuns() {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as BrowserRun);
    },
  };
}

/** Waits until `check` holds, polling; throws with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
