// Every code block of README.md and docs/ works as a user would paste it:
// - each ```ts / ```typescript / ```js / ```javascript block is written as a file of its own into a
//   project where the packed tarball is installed (`--project DIR`, prepared by
//   scripts/check-package.sh), and all are type-checked with strict NodeNext settings;
// - a block with `<!-- run -->` (or `<!-- run expect-output="…" -->`) right before it is then run with node against a real loopback MCP
//   server this script starts (its URL in MCP_URL) that loses the session at the first request
//   after the handshake: the block must exit 0, and when it talked to the server, the server must
//   have seen the loss and a second `initialize` (the snippet really recovers), and the output must
//   hold the expected text when one is given;
// - ```json blocks parse; ```yaml blocks parse, and with `<!-- serve-config -->` before them they
//   pass the `serve --config` validation (unknown keys are errors there).
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { parseServeConfig } from '../src/cli/serve-config.js';
import { type DialectServer, startDialectServer } from '../src/demo/dialect-server.js';
import { type CodeBlock, codeBlocks, publishedMarkdown, readMarkdown } from './markdown.js';

const TYPESCRIPT = new Set(['ts', 'typescript']);
const JAVASCRIPT = new Set(['js', 'javascript']);
const RUN_TIMEOUT_MS = 60_000;

/** What a user's strict project would use: the settings this repository compiles itself with. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  types: ['node'],
};

/** A block written out as a source file. */
interface BlockFile {
  readonly block: CodeBlock;
  readonly source: string;
  readonly output: string;
}

export interface BlockReport {
  /** TypeScript and JavaScript blocks found, and how many of them type-checked. */
  readonly code: number;
  readonly compiled: number;
  readonly ran: number;
  readonly json: number;
  readonly yaml: number;
  readonly serveConfigs: number;
  readonly problems: readonly string[];
}

/** Type-checks, runs and parses every block of the published Markdown under `root`, in the project `project`. */
export async function checkBlocks(root: string, project: string): Promise<BlockReport> {
  const blocks = publishedMarkdown(root).flatMap((file) => codeBlocks(file, readMarkdown(root, file)));
  const problems: string[] = [];
  const code = blocks.filter((block) => TYPESCRIPT.has(block.lang) || JAVASCRIPT.has(block.lang));
  // A misspelt or misplaced marker would silently check less than it says.
  for (const block of blocks) {
    const fits = block.marker === 'run' ? code.includes(block) : block.marker === 'serve-config' ? block.lang === 'yaml' : true;
    if (!fits) problems.push(`${where(block, -1)}: <!-- ${block.marker} --> does not apply to a ${block.lang || 'plain'} block`);
  }
  const files = writeBlocks(code, project);
  const failed = typeCheck(files, project, problems);
  let ran = 0;
  for (const file of files.filter((item) => item.block.marker === 'run')) {
    if (failed.has(file)) continue;
    const problem = await runBlock(file, project);
    if (problem === undefined) ran++;
    else problems.push(`${where(file.block)}: ${problem}`);
  }
  const data = checkDataBlocks(blocks, problems);
  return { code: code.length, compiled: code.length - failed.size, ran, ...data, problems };
}

function where(block: CodeBlock, offset = 0): string {
  return `${block.file}:${block.line + 1 + offset}`;
}

function writeBlocks(blocks: readonly CodeBlock[], project: string): BlockFile[] {
  const dir = join(project, 'doc-blocks');
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(project, 'doc-blocks-out'), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return blocks.map((block) => {
    const name = `${block.file.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${block.line}`;
    const extension = TYPESCRIPT.has(block.lang) ? '.mts' : '.mjs';
    const source = join(dir, `${name}${extension}`);
    writeFileSync(source, block.code);
    return { block, source, output: join(project, 'doc-blocks-out', `${name}.mjs`) };
  });
}

/** Compiles every block in one program; reports each error at its line in the Markdown. Returns the blocks that failed. */
function typeCheck(files: readonly BlockFile[], project: string, problems: string[]): Set<BlockFile> {
  const options: ts.CompilerOptions = {
    ...COMPILER_OPTIONS,
    rootDir: join(project, 'doc-blocks'),
    outDir: join(project, 'doc-blocks-out'),
    typeRoots: [join(project, 'node_modules', '@types')],
  };
  const host = ts.createCompilerHost(options);
  host.getCurrentDirectory = () => project;
  const program = ts.createProgram(
    files.map((file) => file.source),
    options,
    host,
  );
  const emitted = program.emit();
  const failed = new Set<BlockFile>();
  const bySource = new Map(files.map((file) => [file.source, file]));
  for (const file of files) {
    const source = program.getSourceFile(file.source);
    if (source !== undefined && !ts.isExternalModule(source)) {
      problems.push(`${where(file.block, -1)}: not a complete module: a block must import what it uses`);
      failed.add(file);
    }
  }
  for (const diagnostic of [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics]) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file === undefined ? undefined : bySource.get(diagnostic.file.fileName);
    if (file === undefined || diagnostic.file === undefined || diagnostic.start === undefined) {
      problems.push(`error TS${diagnostic.code}: ${message}`);
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    problems.push(`${where(file.block, line)}: error TS${diagnostic.code}: ${message}`);
    failed.add(file);
  }
  return failed;
}

/** Runs one compiled block against a fresh loopback server that loses the session once. */
async function runBlock(file: BlockFile, project: string): Promise<string | undefined> {
  const server = await startLosingServer();
  try {
    const result = await runNode(file.output, project, { MCP_URL: server.url });
    if (result.code !== 0) return `exited with ${result.code ?? result.signal}; output:\n${result.output.slice(-3000)}`;
    const expected = file.block.expectOutput;
    if (expected !== undefined && !result.output.includes(expected)) {
      return `ran, but its output lacks "${expected}"; output:\n${result.output.slice(-3000)}`;
    }
    const talked = server.counters.initializations > 0;
    if (talked && (server.counters.lostAnswers === 0 || server.counters.initializations < 2)) {
      return `ran, but did not recover the lost session (${server.counters.lostAnswers} lost answers, ${server.counters.initializations} initializations)`;
    }
    return undefined;
  } finally {
    await server.close();
  }
}

/** A server that answers like Atlassian's (HTTP 400, plain text) and forgets every session at the first request after the handshake. */
async function startLosingServer(): Promise<DialectServer> {
  let dropped = false;
  const server: DialectServer = await startDialectServer({
    dialect: 'text-400',
    onRequest: (req, body) => {
      const message = body as { id?: unknown; method?: unknown } | undefined;
      const isRequest = message !== undefined && message.id !== undefined && typeof message.method === 'string';
      if (dropped || !isRequest || message.method === 'initialize' || req.headers['mcp-session-id'] === undefined) return;
      dropped = true;
      server.dropSessions();
    },
  });
  return server;
}

function runNode(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n(killed after ${RUN_TIMEOUT_MS / 1000} s)`;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}

/** JSON blocks parse; YAML blocks parse, and serve configs pass the CLI's own validation. */
function checkDataBlocks(blocks: readonly CodeBlock[], problems: string[]): { json: number; yaml: number; serveConfigs: number } {
  let json = 0;
  let yaml = 0;
  let serveConfigs = 0;
  // Every ${VAR} a documented config uses reads as set.
  const env = new Proxy({}, { get: (_, name) => (typeof name === 'string' ? 'set-by-the-doc-check' : undefined) });
  for (const block of blocks) {
    try {
      if (block.lang === 'json') {
        JSON.parse(block.code);
        json++;
      } else if (block.lang === 'yaml' || block.lang === 'yml') {
        const data: unknown = parseYaml(block.code);
        yaml++;
        if (block.marker === 'serve-config') {
          parseServeConfig(data, 'config', env);
          serveConfigs++;
        }
      }
    } catch (error) {
      problems.push(`${where(block)}: ${block.lang} block: ${(error as Error).message.split('\n', 1)[0]}`);
    }
  }
  return { json, yaml, serveConfigs };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const index = process.argv.indexOf('--project');
  const project = index === -1 ? undefined : process.argv[index + 1];
  if (project === undefined) {
    console.error('usage: node build/scripts/check-doc-blocks.js --project DIR   (DIR: a project with the packed tarball installed)');
    process.exit(2);
  }
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const report = await checkBlocks(root, project);
  for (const problem of report.problems) console.error(problem);
  console.log(
    `checked ${report.compiled} of ${report.code} TypeScript/JavaScript blocks (type-checked against the packed tarball), ran ${report.ran}; ` +
      `parsed ${report.json} JSON and ${report.yaml} YAML blocks (${report.serveConfigs} serve configs validated)`,
  );
  process.exitCode = report.problems.length === 0 ? 0 : 1;
}
