import { encodeHeaderValue } from './header-value.js';

/** One tool argument mirrored into a header: where it is in `arguments`, and the header's name. */
export interface HeaderDeclaration {
  /** The chain of `properties` keys leading to the argument. */
  readonly path: readonly string[];
  /** The `x-mcp-header` value: the header is `Mcp-Param-{name}`. */
  readonly name: string;
}

/** A tool's `x-mcp-header` declarations, or why the tool definition is invalid. */
export type HeaderScan =
  | { readonly valid: true; readonly declarations: readonly HeaderDeclaration[] }
  | { readonly valid: false; readonly reason: string };

const X_MCP_HEADER = 'x-mcp-header';
// RFC 9110 §5.1 field-name token: 1*tchar.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_TYPES = new Set(['string', 'integer', 'boolean']);
// Keywords whose subschemas are not reachable through `properties` alone (2026-07-28
// transports/streamable-http §Schema Extension): an annotation under them makes the tool invalid.
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
];
const NAME_VALUED = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);

/**
 * Reads the `x-mcp-header` annotations of a tool's `inputSchema` and checks the spec's
 * constraints: a non-empty token, unique case-insensitively, on a string, integer or boolean
 * property reachable through `properties` keys only. A client MUST leave out a tool that breaks
 * them (the same section), so an invalid scan says why.
 */
export function scanHeaderDeclarations(inputSchema: unknown): HeaderScan {
  const declarations: HeaderDeclaration[] = [];
  const seen = new Map<string, string>();
  const visit = (node: unknown, path: string[], reachable: boolean): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    const schema = node as Record<string, unknown>;
    if (X_MCP_HEADER in schema) {
      const where = path.length === 0 ? '<root>' : path.join('.');
      const name = schema[X_MCP_HEADER];
      if (!reachable || path.length === 0) return `${where}: x-mcp-header on a property not reachable through "properties" alone`;
      if (typeof name !== 'string' || !TOKEN.test(name)) return `${where}: x-mcp-header ${JSON.stringify(name)} is not an HTTP token`;
      if (typeof schema['type'] !== 'string' || !HEADER_TYPES.has(schema['type'])) {
        return `${where}: x-mcp-header on a property of type ${JSON.stringify(schema['type'] ?? null)} (only string, integer, boolean)`;
      }
      const earlier = seen.get(name.toLowerCase());
      if (earlier !== undefined) return `x-mcp-header "${name}" repeats "${earlier}"`;
      seen.set(name.toLowerCase(), name);
      declarations.push({ path, name });
    }
    const properties = schema['properties'];
    if (typeof properties === 'object' && properties !== null) {
      for (const [key, child] of Object.entries(properties)) {
        const fault = visit(child, [...path, key], reachable);
        if (fault !== undefined) return fault;
      }
    }
    for (const keyword of UNREACHABLE) {
      const sub = schema[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : NAME_VALUED.has(keyword) && typeof sub === 'object' && sub !== null
          ? Object.values(sub)
          : [sub];
      for (const branch of branches) {
        const fault = visit(branch, [...path, `<${keyword}>`], false);
        if (fault !== undefined) return fault;
      }
    }
    return undefined;
  };
  const fault = visit(inputSchema, [], true);
  return fault === undefined ? { valid: true, declarations } : { valid: false, reason: fault };
}

/**
 * The `Mcp-Param-{Name}` headers for one `tools/call`: each declared argument present in
 * `args` (not null), converted (booleans lowercase, integers in decimal) and encoded.
 */
export function paramHeaders(declarations: readonly HeaderDeclaration[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { path, name } of declarations) {
    const value = valueAt(args, path);
    const text = primitiveText(value);
    if (text !== undefined) headers[`mcp-param-${name.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return headers;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)))
    return String(value);
  return undefined;
}
