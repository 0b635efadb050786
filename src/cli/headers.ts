import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

// RFC 9110 §5.1: a field name is a token.
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** One `Name: value` line, and where it came from (a flag, a file's line, a config key) for messages. */
export interface HeaderLine {
  readonly line: string;
  readonly where: string;
}

/** Headers as read, and a warning for each one that carries no credential after expansion. */
export interface HeaderSet {
  readonly headers: Record<string, string>;
  /** Each names the header and where it came from, never its value. */
  readonly warnings: readonly string[];
}

/**
 * Parses `Name: value` header lines from `--header` flags and `--header-file` files. `${VAR}` in a
 * value is replaced by the environment variable VAR, so secrets stay out of argv and config files.
 * Throws a {@linkcode UsageError} naming the flag and the problem; never echoes a value.
 */
export function collectHeaders(flags: readonly string[], files: readonly string[], env: NodeJS.ProcessEnv = process.env): HeaderSet {
  const lines: HeaderLine[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--header-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    text.split(/\r?\n/).forEach((line, index) => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      lines.push({ line: trimmed, where: `--header-file ${file}, line ${index + 1}` });
    });
  }
  // Name the flag by its header name, or by its position when it has no colon: never by its value.
  flags.forEach((flag, index) => {
    const name = flag.slice(0, Math.max(0, flag.indexOf(':'))).trim();
    lines.push({ line: flag, where: FIELD_NAME.test(name) ? `--header "${name}: …"` : `--header #${index + 1}` });
  });
  return readHeaderLines(lines, env);
}

/** Parses header lines (later ones win), expanding `${VAR}`; throws a UsageError naming the line's `where`. */
export function readHeaderLines(lines: readonly HeaderLine[], env: NodeJS.ProcessEnv): HeaderSet {
  const headers: Record<string, string> = {};
  const warnings: string[] = [];
  for (const { line, where } of lines) {
    const [name, value, variables] = parseHeaderLine(line, where, env);
    headers[name] = value;
    const missing = missingCredential(value);
    if (missing !== undefined) warnings.push(`${where}: ${missing}${blamed(variables)}; it is sent as it is`);
  }
  return { headers, warnings };
}

function parseHeaderLine(line: string, where: string, env: NodeJS.ProcessEnv): [string, string, string[]] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`${where}: expected "Name: value"`);
  const name = line.slice(0, colon).trim();
  if (!FIELD_NAME.test(name))
    throw new UsageError(`${where}: the part before the colon is not a valid header name (letters, digits, "-" and "_")`);
  const raw = line.slice(colon + 1).trim();
  const value = expandVariables(raw, where, env);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`${where}: the value contains a line break or NUL`);
  // HTTP field values are bytes (RFC 9110 §5.5); fetch refuses characters beyond Latin-1.
  if ([...value].some((char) => (char.codePointAt(0) ?? 0) > 0xff))
    throw new UsageError(`${where}: the value contains characters outside Latin-1, which HTTP headers cannot carry`);
  return [name, value, [...raw.matchAll(VARIABLE)].map((match) => match[1] as string)];
}

/** Replaces `${VAR}` in `value` by the environment variable VAR; an unset one is a UsageError naming `where`. */
export function expandVariables(value: string, where: string, env: NodeJS.ProcessEnv): string {
  return value.replace(VARIABLE, (_, variable: string) => {
    const found = env[variable];
    if (found === undefined || found === '') {
      throw new UsageError(`${where}: environment variable ${variable} is not set`);
    }
    return found;
  });
}

// Authentication schemes (the IANA HTTP Authentication Scheme Registry, and the usual API-key
// ones): a value that ends in one of them has lost its credential on the way.
const SCHEMES = [
  'Basic',
  'Bearer',
  'Concealed',
  'Digest',
  'DPoP',
  'GNAP',
  'HOBA',
  'Mutual',
  'Negotiate',
  'NTLM',
  'OAuth',
  'PrivateToken',
  'SCRAM-SHA-1',
  'SCRAM-SHA-256',
  'vapid',
  'Token',
  'ApiKey',
  'Api-Key',
  'Key',
  'JWT',
];
const SCHEME_AT_END = new RegExp(`(?:^|\\s)(${SCHEMES.join('|')})\\s*$`, 'i');

/**
 * What is missing from a header's value: it is empty, or it ends in an authentication scheme with
 * no credential after it (`Bearer `: an unset variable, expanded by a shell in double quotes).
 * The scheme is named (it is no secret), the value never.
 */
function missingCredential(value: string): string | undefined {
  if (value.trim() === '') return 'the value is empty';
  const scheme = SCHEME_AT_END.exec(value)?.[1];
  if (scheme === undefined) return undefined;
  const which = SCHEMES.find((known) => known.toLowerCase() === scheme.toLowerCase()) ?? scheme;
  return `the value ends in the scheme "${which}" with no credential after it`;
}

/** Why the credential may be missing: a blank variable, or a shell that expanded one before we saw it. */
function blamed(variables: readonly string[]): string {
  if (variables.length > 0) return ` (it held ${variables.map((variable) => `\${${variable}}`).join(', ')})`;
  return ' (if it held ${VAR} in double quotes, the shell replaced it, unset, with nothing: quote it in single quotes)';
}
