import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Manifest {
  readonly name?: string;
  readonly version?: string;
  readonly bugs?: string | { readonly url?: string };
}

/** This package's package.json: the nearest one named mcp-lifeline above this file. */
function manifest(): Manifest | undefined {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    try {
      const found = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as Manifest;
      if (found.name === 'mcp-lifeline') return found;
    } catch {
      // not here: look one level up
    }
    directory = dirname(directory);
  }
  return undefined;
}

/** This package's version. */
export function packageVersion(): string {
  return manifest()?.version ?? 'unknown';
}

/** Where to report a problem: package.json's `bugs` (the issue tracker). */
export function packageIssuesUrl(): string {
  const bugs = manifest()?.bugs;
  return (typeof bugs === 'string' ? bugs : bugs?.url) ?? 'https://github.com/mcp-lifeline/mcp-lifeline/issues';
}
