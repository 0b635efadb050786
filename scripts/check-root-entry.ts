// What the root entry of the installed package loads: every module it reaches (static imports,
// re-exports and literal `import()`s, read with TypeScript's own scanner) and the packages those
// name. A program that wants the fetch middleware must load nothing but `eventsource-parser`: no
// Node built-in (the entry runs on any runtime with fetch and streams), no package of the CLI or
// of `serve` (issue 19). Run by scripts/check-package.sh on the packed tarball:
//   node build/scripts/check-root-entry.js --package DIR
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The packages the root entry may load. */
const ALLOWED = new Set(['eventsource-parser']);
const BUILTINS = new Set(builtinModules);

export interface RootEntryReport {
  /** Modules of the package the entry reaches, relative to the package. */
  readonly modules: readonly string[];
  /** Every package or built-in they name, and the first module that names it. */
  readonly packages: ReadonlyMap<string, string>;
  /** The ones not allowed. */
  readonly offending: readonly string[];
}

/** Walks the module graph of `packageDir`'s root entry (`exports['.']`). */
export function checkRootEntry(packageDir: string): RootEntryReport {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { exports: { '.': { default: string } } };
  const entry = resolve(packageDir, manifest.exports['.'].default);
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (!existsSync(target)) throw new Error(`${relative(packageDir, file)} imports ${specifier}, which is not in the package`);
        queue.push(target);
        continue;
      }
      const name = packageName(specifier);
      if (!packages.has(name)) packages.set(name, relative(packageDir, file));
    }
  }
  const offending = [...packages.keys()].filter((name) => !ALLOWED.has(name));
  return { modules: [...seen].map((file) => relative(packageDir, file)).sort(), packages, offending };
}

/** `node:fs` and `fs` are built-ins; `@scope/name/sub` is the package `@scope/name`. */
function packageName(specifier: string): string {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) return `node:${specifier.replace(/^node:/, '')} (a Node built-in)`;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const index = process.argv.indexOf('--package');
  const packageDir = index === -1 ? undefined : process.argv[index + 1];
  if (packageDir === undefined) throw new Error('usage: check-root-entry --package DIR');
  const report = checkRootEntry(packageDir);
  const named = [...report.packages].map(([name, by]) => `${name} (by ${by})`).join(', ');
  if (report.offending.length > 0) {
    console.error(`the root entry reaches ${report.modules.length} modules that load: ${named}`);
    console.error(`not allowed there: ${report.offending.join(', ')} (only ${[...ALLOWED].join(', ')})`);
    process.exit(1);
  }
  console.log(`the root entry reaches ${report.modules.length} modules; packages loaded: ${named || 'none'}`);
}
