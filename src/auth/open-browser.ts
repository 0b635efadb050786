import { spawn } from 'node:child_process';
import { delimiter } from 'node:path';

/** A command line that opens a URL: `command ...args url`. */
export interface BrowserCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * The command that opens `url`: `$BROWSER` when set (a command that takes the URL as its last
 * argument, or where `%s` stands, as `xdg-open` and Python's `webbrowser` read it; the first of a
 * `:`-separated list), else the platform's opener (`open`, `xdg-open`, `start`).
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
  // `start` is a cmd built-in; its first quoted argument is a window title.
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url.replaceAll('&', '^&')] };
  return { command: 'xdg-open', args: [url] };
}

/**
 * Starts the browser on `url` and resolves once the command started (not when the user is done).
 * The browser gets no stdio of ours: the stdio bridge's stdout carries JSON-RPC only. Rejects
 * when the command cannot be started (not installed, no display).
 */
export function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { command, args } = browserCommand(url, env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: 'ignore', detached: true, env });
    child.once('error', (error) => reject(new Error(`cannot start the browser (${command}): ${error.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

/** Splits a command line on spaces, honouring single and double quotes (no escapes, no expansion). */
function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}
