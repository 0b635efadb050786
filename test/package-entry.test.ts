// The library entry stays runtime-neutral and light: nothing it imports, however deep, reaches the
// MCP SDK or Node built-ins, so a bundler never pulls them into a user's bundle.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { builtPath } from './helpers/processes.js';

/** Every module specifier reachable from `entry` by static imports and re-exports. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('package entry', () => {
  it('the root entry imports only eventsource-parser: no SDK, no node: built-ins', () => {
    const { files, packages } = importGraph(builtPath('../src/index.js', import.meta.url));
    assert.ok(files.size > 10, `walked ${files.size} modules`);
    assert.deepEqual([...packages].sort(), ['eventsource-parser']);
  });
});
