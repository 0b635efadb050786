import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.js';

// RFC 9110 §5.1: a field name is a token.
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses `Name: value` header lines from `--header` flags and `--header-file` files. `${VAR}` in a
 * value is replaced by the environment variable VAR, so secrets stay out of argv and config files.
 * Throws a {@linkcode UsageError} naming the flag and the problem; never echoes a value.
 */
export function collectHeaders(
  flags: readonly string[],
  files: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (line: string, where: string) => {
    const [name, value] = parseHeaderLine(line, where, env);
    headers[name] = value;
  };
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
      add(trimmed, `--header-file ${file}, line ${index + 1}`);
    });
  }
  // Name the flag by its header name, or by its position when it has no colon: never by its value.
  flags.forEach((flag, index) => {
    const name = flag.slice(0, Math.max(0, flag.indexOf(':'))).trim();
    add(flag, FIELD_NAME.test(name) ? `--header "${name}: …"` : `--header #${index + 1}`);
  });
  return headers;
}

function parseHeaderLine(line: string, where: string, env: NodeJS.ProcessEnv): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new UsageError(`${where}: expected "Name: value"`);
  const name = line.slice(0, colon).trim();
  if (!FIELD_NAME.test(name))
    throw new UsageError(`${where}: the part before the colon is not a valid header name (letters, digits, "-" and "_")`);
  const value = expandVariables(line.slice(colon + 1).trim(), where, env);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`${where}: the value contains a line break or NUL`);
  // HTTP field values are bytes (RFC 9110 §5.5); fetch refuses characters beyond Latin-1.
  if ([...value].some((char) => (char.codePointAt(0) ?? 0) > 0xff))
    throw new UsageError(`${where}: the value contains characters outside Latin-1, which HTTP headers cannot carry`);
  return [name, value];
}

/** Replaces `${VAR}` in `value` by the environment variable VAR; an unset one is a UsageError naming `where`. */
export function expandVariables(value: string, where: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
    const found = env[variable];
    if (found === undefined || found === '') {
      throw new UsageError(`${where}: environment variable ${variable} is not set`);
    }
    return found;
  });
}
