// The documentation is checked like code: links resolve, the generated reference matches the JSDoc,
// README stays a short guide whose commands CI runs, and a header with ${VAR} is never shown in
// double quotes (a shell would expand it into argv). The code blocks themselves are type-checked
// against the packed tarball by scripts/check-doc-blocks.ts (npm run check:package); its own
// behaviour is tested here on small fixtures, against the built package through a symlink.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkBlocks } from '../scripts/check-doc-blocks.js';
import { checkLinks } from '../scripts/check-doc-links.js';
import { updateReference } from '../scripts/docs-reference.js';
import { anchors, codeBlocks, headingSlug, links, publishedMarkdown, readMarkdown } from '../scripts/markdown.js';
import { HELP_TOPICS, helpText } from '../src/cli/help.js';
import { builtPath } from './helpers/processes.js';

const ROOT = builtPath('../..', import.meta.url);
const CLI = builtPath('../src/cli/main.js', import.meta.url);

describe('docs: the published Markdown', () => {
  it('every link into the repository from README.md and docs/ resolves, #anchors included', () => {
    const report = checkLinks(ROOT);
    assert.deepEqual(report.broken, []);
    assert.ok(report.checked > 100, `checked ${report.checked} links`);
    assert.ok(report.files > 15, `in ${report.files} files`);
  });

  it('the generated reference tables match the JSDoc of the public types (npm run docs:reference)', () => {
    const { sections, stale } = updateReference(ROOT, { write: false });
    assert.deepEqual(stale, []);
    assert.ok(sections >= 10, `${sections} sections`);
  });

  it('README is a guide of at most 15,000 bytes with the two newcomer commands, and CI runs the test command it gives', () => {
    const readme = readFileSync(join(ROOT, 'README.md'));
    assert.ok(readme.length <= 15_000, `README.md is ${readme.length} bytes`);
    const shell = codeBlocks('README.md', readme.toString())
      .filter((block) => block.lang === 'sh')
      .map((block) => block.code)
      .join('');
    assert.match(shell, /^npm install && npm start\b/m);
    assert.match(shell, /^npm test\b/m);
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    assert.match(ci, /^npm test$/m);
  });

  it('a header with ${VAR} is shown in single quotes everywhere: README, docs/, and the CLI help', () => {
    const doubleQuoted = /--header[= ]"[^"\n]*\$\{/;
    const texts = publishedMarkdown(ROOT).map((file) => [file, readMarkdown(ROOT, file)] as const);
    texts.push(['mcp-lifeline --help', execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' })]);
    for (const topic of HELP_TOPICS) texts.push([`mcp-lifeline help ${topic}`, helpText(topic)]);
    // cmd.exe is the exception: it expands %VAR%, never ${VAR}, and knows no single quotes.
    const offending = texts.flatMap(([where, text]) =>
      text
        .split('\n')
        .map((line, index) => ({ line, where: `${where}:${index + 1}` }))
        .filter(({ line }) => doubleQuoted.test(line) && !line.startsWith('cmd.exe:'))
        .map(({ where: at, line }) => `${at}: ${line.trim()}`),
    );
    assert.deepEqual(offending, []);
    assert.match(texts.find(([where]) => where === 'README.md')?.[1] ?? '', /--header 'Authorization: Bearer \$\{API_TOKEN\}'/);
  });
});

describe('docs: shell recipes', () => {
  it('every recipe that writes a file under ~ works on a fresh machine (its directory is made first)', () => {
    // The lines a recipe needs, run as they are with an empty HOME: only commands that touch files.
    const runnable = /^(mkdir|chmod|openssl rand|echo|printf|touch|umask)\b/;
    const recipes = publishedMarkdown(ROOT).flatMap((file) =>
      codeBlocks(file, readMarkdown(ROOT, file))
        .filter((block) => block.lang === 'sh' || block.lang === 'bash')
        .flatMap((block) => {
          const lines = block.code.split('\n');
          return lines.flatMap((line, index) => {
            const target = /(?:^|\s)>>? *(~\/\S+)/.exec(line)?.[1];
            if (target === undefined) return [];
            return [
              { where: `${file}:${block.line + 1 + index}`, target, script: lines.slice(0, index + 1).filter((l) => runnable.test(l)) },
            ];
          });
        }),
    );
    assert.ok(recipes.length >= 2, `${recipes.length} recipes`);
    for (const recipe of recipes) {
      const home = mkdtempSync(join(tmpdir(), 'lifeline-home-'));
      try {
        execFileSync('sh', ['-ec', recipe.script.join('\n')], { env: { PATH: process.env['PATH'] ?? '', HOME: home }, stdio: 'pipe' });
        assert.ok(statSync(join(home, recipe.target.slice(2))).isFile(), `${recipe.where}: ${recipe.target} was not written`);
      } catch (error) {
        assert.fail(`${recipe.where}: ${(error as { stderr?: Buffer }).stderr?.toString() ?? String(error)}`);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }
  });
});

describe('docs: the Markdown readers', () => {
  it('anchors are GitHub slugs: punctuation dropped, spaces to hyphens, repeats numbered', () => {
    assert.equal(headingSlug('Every protocol era: `--protocol` and `--transport`'), 'every-protocol-era---protocol-and---transport');
    assert.equal(headingSlug('`startGateway` (`mcp-lifeline/gateway`)'), 'startgateway-mcp-lifelinegateway');
    assert.equal(headingSlug('Windows: `cmd /c npx`'), 'windows-cmd-c-npx');
    assert.equal(headingSlug('See [the docs](x.md) now'), 'see-the-docs-now');
    const found = anchors('# A\n## Notes\n```sh\n# not a heading\n```\n### Notes\n<a id="custom"></a>\n');
    assert.deepEqual([...found].sort(), ['a', 'custom', 'notes', 'notes-1']);
  });

  it('code blocks carry their language, line and the marker comment right before them', () => {
    const text = 'Intro\n\n<!-- run expect-output="done" -->\n```ts\nconst a = 1;\n```\n\n```json\n{}\n```\n';
    const [first, second] = codeBlocks('x.md', text);
    assert.deepEqual(
      { lang: first?.lang, line: first?.line, marker: first?.marker, expect: first?.expectOutput, code: first?.code },
      { lang: 'ts', line: 4, marker: 'run', expect: 'done', code: 'const a = 1;\n' },
    );
    assert.deepEqual({ lang: second?.lang, marker: second?.marker }, { lang: 'json', marker: undefined });
  });

  it('links in code blocks and inline code are not links', () => {
    const text = 'See [a](a.md) and `[b](b.md)`.\n```md\n[c](c.md)\n```\n[d](d.md#x "title")\n';
    assert.deepEqual(
      links('x.md', text).map((link) => link.target),
      ['a.md', 'd.md#x'],
    );
  });

  it('the link check names each broken file and anchor, and follows links to the repository URL', (t) => {
    // The github.com URLs are text the checker maps to files of the fixture root; nothing is fetched.
    const root = fixtureRoot(t, {
      'README.md': '# Top\n[ok](docs/a.md#part) [gone](docs/missing.md) [bad anchor](docs/a.md#nope)\n',
      'docs/a.md':
        '# A\n## Part\n[up](../README.md#top) [web](https://github.com/acme/tool/blob/main/docs/b.md) [issues](https://github.com/acme/tool/issues)\n',
      'docs/_incoming/draft.md': '[never checked](nowhere.md)\n',
    });
    const report = checkLinks(root);
    assert.equal(report.checked, 5);
    assert.deepEqual(
      report.broken.map((link) => `${link.where} ${link.reason}`),
      ['README.md:2 no such file: docs/missing.md', 'README.md:2 no heading #nope in docs/a.md', 'docs/a.md:3 no such file: docs/b.md'],
    );
  });
});

describe('docs: the code-block check (scripts/check-doc-blocks.ts)', () => {
  it('type-checks every block, reports one that uses what it does not import at its Markdown line, and a misplaced marker', async (t) => {
    const root = fixtureRoot(t, {
      'README.md': [
        '# Fixture',
        '```ts',
        "import { withSessionRecovery } from 'mcp-lifeline';",
        'console.log(typeof withSessionRecovery());',
        '```',
        '```ts',
        "import { withSessionRecovery } from 'mcp-lifeline';",
        'withSessionRecovery({ onEvent: handler });',
        '```',
        '```json',
        '{ "not": json }',
        '```',
        '<!-- run -->',
        '```sh',
        'echo a marker that does not apply',
        '```',
        '',
      ].join('\n'),
      'docs/empty.md': '# Empty\n',
    });
    const report = await checkBlocks(root, consumerProject(t));
    assert.equal(report.code, 2);
    assert.equal(report.compiled, 1);
    assert.equal(report.json, 0);
    assert.deepEqual(
      report.problems.map((problem) => problem.replace(/(json block|TS2304): .*/, '$1')),
      ['README.md:14: <!-- run --> does not apply to a sh block', 'README.md:8: error TS2304', 'README.md:11: json block'],
    );
    assert.match(report.problems[1] ?? '', /Cannot find name 'handler'/);
  });

  it('runs marked blocks against a server that loses the session: passes one that recovers, fails one that does not', async (t) => {
    const connect = (fetchExpression: string) => [
      "import { Client } from '@modelcontextprotocol/sdk/client/index.js';",
      "import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';",
      "import { withSessionRecovery } from 'mcp-lifeline';",
      "const url = new URL(process.env.MCP_URL ?? 'http://127.0.0.1:3000/mcp');",
      `const client = new Client({ name: 'fixture', version: '1.0.0' });`,
      `await client.connect(new StreamableHTTPClientTransport(url, { fetch: ${fetchExpression} }));`,
      'try { console.log(`tools: ${(await client.listTools()).tools.length}`); } catch (error) { console.log(`failed: ${error}`); }',
      'await client.close();',
    ];
    const root = fixtureRoot(t, {
      'README.md': [
        '<!-- run expect-output="tools: " -->',
        '```ts',
        ...connect('withSessionRecovery()(fetch)'),
        '```',
        '<!-- run -->',
        '```ts',
        ...connect('fetch'),
        'void withSessionRecovery;',
        '```',
        '',
      ].join('\n'),
      'docs/empty.md': '# Empty\n',
    });
    const report = await checkBlocks(root, consumerProject(t));
    assert.equal(report.compiled, 2, report.problems.join('\n'));
    assert.equal(report.ran, 1);
    assert.equal(report.problems.length, 1, report.problems.join('\n'));
    assert.match(report.problems[0] ?? '', /^README\.md:\d+: ran, but did not recover the lost session/);
  });
});

/** A throwaway repository root with these files and this project's package.json's repository. */
function fixtureRoot(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'lifeline-docs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ repository: { url: 'git+https://github.com/acme/tool.git' } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A user's project with this checkout as `mcp-lifeline` and the SDKs and Node types from its node_modules. */
function consumerProject(t: { after: (fn: () => void) => void }): string {
  const project = mkdtempSync(join(tmpdir(), 'lifeline-docs-project-'));
  t.after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '@modelcontextprotocol'), { recursive: true });
  mkdirSync(join(modules, '@types'), { recursive: true });
  symlinkSync(ROOT, join(modules, 'mcp-lifeline'), 'dir');
  for (const name of ['@modelcontextprotocol/sdk', '@modelcontextprotocol/client', '@types/node']) {
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
  }
  return project;
}
