import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the per-user configuration of mcp-lifeline lives. */
export interface ConfigDirInputs {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly home: string;
}

/**
 * `$MCP_LIFELINE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/mcp-lifeline`, else `%APPDATA%\mcp-lifeline` on
 * Windows, else `~/.config/mcp-lifeline`. Nothing in the path depends on the package version, so an
 * upgrade finds the same sign-ins.
 */
export function configDir(inputs: Partial<ConfigDirInputs> = {}): string {
  const env = inputs.env ?? process.env;
  const explicit = env['MCP_LIFELINE_CONFIG_DIR'];
  if (explicit) return explicit;
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg) return join(xdg, 'mcp-lifeline');
  const platform = inputs.platform ?? process.platform;
  if (platform === 'win32' && env['APPDATA']) return join(env['APPDATA'], 'mcp-lifeline');
  return join(inputs.home ?? homedir(), '.config', 'mcp-lifeline');
}
