import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's version, read from the nearest package.json named mcp-lifeline above this file. */
export function packageVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'mcp-lifeline' && manifest.version !== undefined) return manifest.version;
    } catch {
      // not here: look one level up
    }
    directory = dirname(directory);
  }
  return 'unknown';
}
