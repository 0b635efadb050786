import { spawn } from 'node:child_process';
import { delimiter, win32 } from 'node:path';
import { SignInError } from './SignInError.js';
import { checkSignInUrl } from './sign-in-url.js';

/** A command line that opens a URL: `command ...args url`. */
export interface BrowserCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * The command that opens `url`: `$BROWSER` when set (a command that takes the URL as its last
 * argument, or where `%s` stands, as `xdg-open` and Python's `webbrowser` read it; the first of a
 * `:`-separated list), else the platform's opener: `open` (macOS), `xdg-open`, and on Windows
 * `rundll32.exe url.dll,FileProtocolHandler` from the system directory (as Go's `pkg/browser`
 * does). Never a shell: `cmd /c start` would read `&`, `|` and `^` in the URL as its own syntax
 * (the class of CVE-2025-6514). The URL is always one argument (or inside the one `%s` stands in).
 */
export function browserCommand(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): BrowserCommand {
  const configured = (env['BROWSER'] ?? '')
    .split(delimiter)
    .map((entry) => entry.trim())
    .find((entry) => entry !== '');
  if (configured !== undefined) {
    const [command = configured, ...args] = splitCommandLine(configured);
    return args.some((arg) => arg.includes('%s'))
      ? { command, args: args.map((arg) => arg.replaceAll('%s', url)) }
      : { command, args: [...args, url] };
  }
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') {
    // The full path: a bare name is looked up in the current directory first on Windows.
    const command = win32.join(env['SystemRoot'] ?? env['SYSTEMROOT'] ?? 'C:\\Windows', 'System32', 'rundll32.exe');
    return { command, args: ['url.dll,FileProtocolHandler', url] };
  }
  return { command: 'xdg-open', args: [url] };
}

/** How long an opener that fails (`BROWSER=false`, `xdg-open` without a display) has to say so. */
const OPENER_VERDICT_MS = 1000;

/**
 * Starts the browser on `url` and resolves once the command runs (not when the user is done).
 * Only `https:` URLs, and `http:` ones on a loopback host, are opened: any other (`file:`, `smb:`,
 * a custom scheme) is refused with an `INSECURE_ENDPOINT` SignInError naming its scheme, before
 * anything starts. The URL is passed as one argument, never through a shell. The browser gets no
 * stdio of ours: the stdio bridge's stdout carries JSON-RPC only. Rejects when the command cannot
 * be started (not installed), or exits with a failure within a second (`BROWSER=false`, no
 * display): then no window opened, and the user must be told so.
 */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { href } = checkSignInUrl('browser URL', url);
  // Serialised by the URL parser, only a host can still hold a quote: none may reach a command line.
  if (!/^[\x21-\x7e]+$/.test(href) || href.includes('"')) {
    throw new SignInError(
      'INSECURE_ENDPOINT',
      `refusing the browser URL ${JSON.stringify(href.slice(0, 200))}: it holds a quote or a character that is not visible ASCII`,
    );
  }
  const { command, args } = browserCommand(href, env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: 'ignore', detached: true, env });
    child.once('error', (error) => reject(new Error(`cannot start the browser (${command}): ${error.message}`)));
    child.once('spawn', () => {
      // An opener hands the URL to a browser and exits 0, or keeps running as the browser: either
      // is a window. One that exits with a failure opened nothing.
      const verdict = setTimeout(() => {
        child.removeAllListeners('exit');
        child.unref();
        resolve();
      }, OPENER_VERDICT_MS);
      child.once('exit', (code, signal) => {
        clearTimeout(verdict);
        if (code === 0) resolve();
        else reject(new Error(`the browser command (${command}) ${code === null ? `was killed (${signal})` : `exited with code ${code}`}`));
      });
    });
  });
}

/** Splits a command line on spaces, honouring single and double quotes (no escapes, no expansion). */
function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}
