/** ANSI colours, or none. Colour only on a terminal and when NO_COLOR is unset (no-color.org). */
export interface Paint {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const code = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function painter(enabled: boolean): Paint {
  if (!enabled) return { green: plain, red: plain, yellow: plain, dim: plain, bold: plain };
  return { green: code(32, 39), red: code(31, 39), yellow: code(33, 39), dim: code(2, 22), bold: code(1, 22) };
}

/** Whether to colour output: an explicit flag wins, else a TTY without NO_COLOR. */
export function wantsColor(flag: boolean | undefined, isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (flag !== undefined) return flag;
  return isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}
