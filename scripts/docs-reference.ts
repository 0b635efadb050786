// The reference tables in docs/ (options, events, error codes) are generated from the JSDoc of the
// public types, so they say what the typed source says and nothing is kept in sync by hand.
// A Markdown file asks for one with a marker pair:
//
//   <!-- generated:reference mcp-lifeline SessionRecoveryOptions -->
//   …replaced by the table…
//   <!-- /generated:reference -->
//
// `node build/scripts/docs-reference.js` rewrites every such section; `--check` only compares and
// fails on a stale one (the test suite runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { publishedMarkdown, readMarkdown } from './markdown.js';

const SECTION = /(<!-- generated:reference (\S+) (\S+) -->\n)([\s\S]*?)(<!-- \/generated:reference -->)/g;

/** A section whose committed text differs from what the source says now. */
export interface StaleSection {
  readonly file: string;
  readonly name: string;
}

/** Regenerates every section under `root`; with `write: false` only reports the stale ones. */
export function updateReference(root: string, options: { write: boolean }): { sections: number; stale: StaleSection[] } {
  const api = new PublicApi(root);
  const stale: StaleSection[] = [];
  let sections = 0;
  for (const file of publishedMarkdown(root)) {
    const text = readMarkdown(root, file);
    const updated = text.replace(SECTION, (_whole, open: string, entry: string, name: string, body: string, close: string) => {
      sections++;
      const fresh = `${api.render(entry, name, file)}\n`;
      if (fresh !== body) stale.push({ file, name });
      return `${open}${fresh}${close}`;
    });
    if (options.write && updated !== text) writeFileSync(join(root, file), updated);
  }
  return { sections, stale };
}

/** The package's public entry points, type-checked once, rendered as Markdown on demand. */
class PublicApi {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly entries: Map<string, string>;
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
    this.entries = entryPoints(root);
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    this.program = ts.createProgram([...this.entries.values()], { ...parsed.options, noEmit: true });
    this.checker = this.program.getTypeChecker();
  }

  /** The Markdown for export `name` of package entry `entry`, as seen from the Markdown file `from`. */
  render(entry: string, name: string, from: string): string {
    const declaration = this.declaration(entry, name);
    const source = relative(dirname(join(this.root, from)), declaration.getSourceFile().fileName)
      .split('\\')
      .join('/');
    const origin = `_Generated from the JSDoc of \`${name}\` in [\`${relative(this.root, declaration.getSourceFile().fileName)}\`](${source}) by \`npm run docs:reference\`; edit the source, not this table._`;
    if (ts.isInterfaceDeclaration(declaration)) return `${this.interfaceTable(declaration)}\n\n${origin}`;
    if (ts.isTypeAliasDeclaration(declaration) && ts.isUnionTypeNode(declaration.type)) {
      return `${this.unionTable(declaration.type)}\n\n${origin}`;
    }
    throw new Error(`${entry} ${name}: only interfaces and unions can be rendered, got ${ts.SyntaxKind[declaration.kind]}`);
  }

  private declaration(entry: string, name: string): ts.Declaration {
    const file = this.entries.get(entry);
    const source = file === undefined ? undefined : this.program.getSourceFile(file);
    if (source === undefined)
      throw new Error(`unknown package entry "${entry}" (package.json exports: ${[...this.entries.keys()].join(', ')})`);
    const module = this.checker.getSymbolAtLocation(source);
    let symbol = module === undefined ? undefined : this.checker.getExportsOfModule(module).find((item) => item.name === name);
    if (symbol === undefined) throw new Error(`${entry} exports no "${name}"`);
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    const declaration = symbol.declarations?.[0];
    if (declaration === undefined) throw new Error(`${entry} ${name}: no declaration`);
    return declaration;
  }

  /** option | type | default | description, for every property (inherited ones included). */
  private interfaceTable(declaration: ts.InterfaceDeclaration): string {
    const type = this.checker.getTypeAtLocation(declaration);
    const rows = this.checker.getPropertiesOfType(type).map((property) => {
      const node = property.declarations?.[0];
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
      const typeText = node === undefined ? '' : typeOf(node, optional);
      const fallback = ts.getJSDocTags(node ?? declaration).find((tag) => tag.tagName.text === 'default');
      const defaultText = fallback === undefined ? (optional ? '' : 'required') : commentText(fallback.comment);
      const description = ts.displayPartsToString(property.getDocumentationComment(this.checker));
      return [
        code(property.name),
        code(typeText),
        defaultText === '' || defaultText === 'required' ? defaultText : defaultCell(defaultText),
        cell(description),
      ];
    });
    return table(['option', 'type', 'default', 'description'], rows);
  }

  /** One row per member: string literals with their comment, or interfaces and object types with their fields. */
  private unionTable(union: ts.UnionTypeNode): string {
    const members = union.types;
    const text = union.getSourceFile().getFullText();
    if (members.every((member) => ts.isLiteralTypeNode(member))) {
      return table(
        ['code', 'meaning'],
        members.map((member, index) => {
          // A member's comment sits before its `|`: between the previous member (or the `=`) and it.
          const from = index === 0 ? union.getFullStart() : (members[index - 1]?.getEnd() ?? union.getFullStart());
          return [code(unquote(member.getText())), cell(lastDoc(text.slice(from, member.getStart())))];
        }),
      );
    }
    const rows = members.map((member) => {
      const type = this.checker.getTypeFromTypeNode(member);
      const symbol = type.getSymbol();
      const doc = symbol === undefined ? '' : ts.displayPartsToString(symbol.getDocumentationComment(this.checker));
      const fields = this.checker
        .getPropertiesOfType(type)
        .filter((field) => !['type', 'url', 'time'].includes(field.name))
        .map((field) => {
          const node = field.declarations?.[0];
          return code(`${field.name}: ${node === undefined ? '' : typeOf(node, (field.flags & ts.SymbolFlags.Optional) !== 0)}`);
        });
      const typeNode = type.getProperty('type')?.declarations?.[0];
      return { type: typeNode === undefined ? '' : code(unquote(typeOf(typeNode, false))), doc: cell(doc), fields: fields.join(', ') };
    });
    // Members without JSDoc of their own (object types written inline) get no "when" column.
    return rows.some((row) => row.doc !== '')
      ? table(
          ['type', 'when', 'fields'],
          rows.map((row) => [row.type, row.doc, row.fields]),
        )
      : table(
          ['type', 'fields'],
          rows.map((row) => [row.type, row.fields]),
        );
  }
}

/** Package entry (`mcp-lifeline/oauth`) → its TypeScript source, from package.json `exports`. */
function entryPoints(root: string): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types?: string }>;
  };
  const entries = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const types = typeof target === 'string' ? target : target.types;
    if (types === undefined || !types.endsWith('.d.ts')) continue;
    const source = join(root, types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'));
    entries.set(subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`, source);
  }
  return entries;
}

/** The declared type of a property, on one line, without the `| undefined` every optional one carries. */
function typeOf(node: ts.Declaration, optional: boolean): string {
  const typeNode = (node as { type?: ts.TypeNode }).type;
  let text = typeNode === undefined ? node.getText().replace(/^readonly\s+/, '') : typeNode.getText();
  text = text.replace(/\s+/g, ' ').trim();
  if (optional) {
    const wrapped = /^\((.*)\) \| undefined$/.exec(text);
    text = wrapped ? (wrapped[1] ?? text) : text.replace(/ \| undefined$/, '');
  }
  return text;
}

/** The last JSDoc comment in `text`, as plain text. */
function lastDoc(text: string): string {
  const docs = [...text.matchAll(/\/\*\*([\s\S]*?)\*\//g)];
  const doc = docs.at(-1)?.[1];
  if (doc === undefined) return '';
  return doc
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** `'a' | 'b'` → `a | b`: string literal types as the values they are. */
function unquote(text: string): string {
  return text.replace(/'([^']*)'/g, '$1');
}

/** A `@default`: the code in it as code, the words around it as words (`undefined (off)`, `24 h`). */
function defaultCell(text: string): string {
  const literal = /^(\{.*\}|\[.*\]|'[^']*'|"[^"]*"|-?[\d_.]+|undefined|true|false|null|[A-Z][A-Z0-9_]+|[a-z]\w*\(\))(.*)$/s.exec(text);
  if (literal === null) return cell(text);
  const [, value = '', rest = ''] = literal;
  if (rest === '') return code(value);
  // `4 MiB`, `10 000`: a number followed by words is a quantity, written as words.
  if (!/^[:(,]|^ \(/.test(rest)) return cell(text);
  return `${code(value)}${rest.startsWith(' ') ? ' ' : ''}${cell(rest)}`;
}

function commentText(comment: string | ts.NodeArray<ts.JSDocComment> | undefined): string {
  if (comment === undefined) return '';
  return (typeof comment === 'string' ? comment : comment.map((part) => part.text).join('')).trim();
}

/** A table cell: JSDoc links as code, list items on lines of their own, pipes escaped. */
function cell(text: string): string {
  return text
    .replace(/\{@link(?:code|plain)?\s+([^}\s|]+)[^}]*\}/g, '`$1`')
    .trim()
    .replace(/\n\s*- /g, '<br>- ')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');
}

function code(text: string): string {
  return text === '' ? '' : `\`${text.replace(/\|/g, '\\|')}\``;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const check = process.argv.includes('--check');
  const { sections, stale } = updateReference(root, { write: !check });
  for (const section of stale) console.error(`${section.file}: ${section.name} ${check ? 'is stale' : 'regenerated'}`);
  console.log(`${sections} generated reference sections, ${stale.length} ${check ? 'stale (run npm run docs:reference)' : 'rewritten'}`);
  if (check && stale.length > 0) process.exitCode = 1;
}
