// The values a user types, on the command line or in `serve`'s config file: URLs, sizes, durations,
// counts and choices. One grammar each, so that a flag and its config key read the same text the
// same way (a bare `3600` in `--session-ttl` and in `sessionTtl` is an hour in both).
import { isLoopbackHost } from '../shared/loopback.js';
import { UsageError } from './usage-error.js';

/**
 * An http(s) URL, or a UsageError that says what is wrong with it. The URL itself is never
 * echoed: it may carry a token in its query. A user name or password in it is refused, since every
 * error would otherwise carry them: credentials belong in --header.
 */
export function parseUrl(text: string): URL {
  const meant = withScheme(text);
  if (meant !== undefined) throw new UsageError(`<url> has no scheme (http:// or https://): did you mean ${meant}?`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('<url> is not a valid URL (expected e.g. https://mcp.example.com/mcp)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`<url>: only http and https URLs are supported, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      "<url> carries a user name or password; pass credentials with --header 'Authorization: Basic ${CREDENTIALS}' instead, " +
        'so they never appear in logs or errors',
    );
  }
  return url;
}

/**
 * What a URL written without its scheme (`localhost:8080/mcp`, `mcp.example.com/mcp`) meant: http
 * on a loopback host, https anywhere else; shown without its query, which may hold a token.
 * Undefined for text that has a scheme or does not name a host.
 */
function withScheme(text: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${text}`);
  } catch {
    return undefined;
  }
  const host = url.hostname;
  // `mailto:someone@example.com` has a scheme, just not one we speak.
  if (url.username !== '' || url.password !== '') return undefined;
  if (!(host.includes('.') || host.startsWith('[') || host === 'localhost' || url.port !== '')) return undefined;
  const scheme = isLoopbackHost(host) ? 'http' : 'https';
  return `${scheme}://${url.host}${url.pathname}${url.search === '' ? '' : '?…'}`;
}

// A number, then an optional unit: `12`, `1.5`, `.5`, `1e3`, each with or without a unit such as `ms` or `MiB`.
const NUMBER_AND_UNIT = /^((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)$/i;

function numberAndUnit(text: string): { readonly number: number; readonly unit: string } | undefined {
  const match = NUMBER_AND_UNIT.exec(text.trim());
  if (match === null) return undefined;
  return { number: Number(match[1]), unit: (match[2] ?? '').toLowerCase() };
}

/**
 * Bytes per size unit, case-insensitive. The one-letter units count in 1024s, as nginx's
 * `client_max_body_size 4m` does (serve's `--max-body 4m`); `KiB`/`MiB`/`GiB` also count in 1024s and
 * `KB`/`MB`/`GB` in 1000s, as the bridge's `--max-message-size 512KB` always has.
 */
const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/**
 * A size in bytes: `1048576`, `512k`, `4m`, `8MiB`, `1.5MB` (see {@linkcode BYTES_PER_UNIT}); a
 * number as a config file may give it is bytes. `name` is the flag or key, for the error.
 */
export function parseSize(name: string, text: string, options: { readonly min?: number } = {}): number {
  const min = options.min ?? 1;
  const read = numberAndUnit(text);
  const perUnit = read !== undefined && Object.hasOwn(BYTES_PER_UNIT, read.unit) ? BYTES_PER_UNIT[read.unit] : undefined;
  const bytes = read === undefined || perUnit === undefined ? Number.NaN : Math.round(read.number * perUnit);
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    const atLeast = min > 1 ? ` of at least ${min % 1024 === 0 ? `${min / 1024}KiB` : `${min} bytes`}` : '';
    throw new UsageError(`${name} must be a size${atLeast} such as 512k, 4m, 8MiB or 512KB, got "${text}"`);
  }
  return bytes;
}

const MS_PER_UNIT = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The unit of a duration written without one. */
type TimeUnit = keyof typeof MS_PER_UNIT;

const UNIT_NAMES: Readonly<Record<TimeUnit, string>> = { ms: 'milliseconds', s: 'seconds', m: 'minutes', h: 'hours', d: 'days' };

function readDuration(text: string, bare: TimeUnit): number | undefined {
  const read = numberAndUnit(text);
  if (read === undefined) return undefined;
  const unit = read.unit === '' ? bare : read.unit;
  if (!Object.hasOwn(MS_PER_UNIT, unit)) return undefined;
  const ms = Math.round(read.number * MS_PER_UNIT[unit as TimeUnit]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** How a duration may be written, and what a bare number means. */
export interface DurationSpec {
  /** The unit of a bare number. Every flag and config key of `serve` uses seconds. @default 's' */
  readonly bare?: TimeUnit;
  /** Whether 0 is allowed (it never is by default: a bound of 0 would refuse everything). @default false */
  readonly zero?: boolean;
}

/**
 * A duration in ms: a number with a unit (`500ms`, `90s`, `10m`, `24h`, `7d`), or a bare number in
 * `spec.bare` (seconds unless said otherwise). `name` is the flag or key, for the error.
 */
export function parseDuration(name: string, text: string, spec: DurationSpec = {}): number {
  const bare = spec.bare ?? 's';
  const ms = readDuration(text, bare);
  if (ms === undefined || !(spec.zero ? ms >= 0 : ms > 0)) {
    throw new UsageError(`${name} must be a duration such as 30s, 10m, 24h or 7d (a bare number is ${UNIT_NAMES[bare]}), got "${text}"`);
  }
  return ms;
}

/**
 * A duration in ms, for the flags whose help calls their value SECONDS: the same grammar as
 * {@linkcode parseDuration} with a bare number in seconds, and an error that speaks of seconds.
 */
export function parseSeconds(name: string, text: string): number {
  const ms = readDuration(text, 's');
  if (ms === undefined || !(ms > 0)) {
    throw new UsageError(`${name} must be a positive number of seconds, got "${text}" (a unit may follow: 500ms, 90s, 10m, 24h)`);
  }
  return ms;
}

/**
 * A whole number from `min` to `max` (a count, a port). `what` names it in the error.
 * @default max Number.MAX_SAFE_INTEGER, what 'an integer'
 */
export function parseCount(
  name: string,
  text: string,
  bounds: { readonly min: number; readonly max?: number; readonly what?: string },
): number {
  const { min, max = Number.MAX_SAFE_INTEGER, what = 'an integer' } = bounds;
  const number = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} upward` : `from ${min} to ${max}`;
    throw new UsageError(`${name} must be ${what} ${range}, got "${text}"`);
  }
  return number;
}

/** `parse(text)`, or `fallback` when the flag or key was not given. */
export function parsedOr<T>(text: string | undefined, fallback: T, parse: (text: string) => T): T {
  return text === undefined ? fallback : parse(text);
}

/** One of `allowed`, or a UsageError listing them. */
export function parseChoice<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got "${text}"`);
}

/**
 * A tool-name pattern (`--ignore-tool`, `--allow-tool`, serve's `ignoreTools`, `allowTools`): a
 * name, `*` standing for any run of characters. Only an empty one is refused.
 */
export function parseToolPattern(name: string, text: string): string {
  if (text.trim() === '') throw new UsageError(`${name} needs a tool name or a pattern such as "delete_*", got "${text}"`);
  return text;
}

/** Where requests go: through the proxy the environment names (`env`), straight (`off`), or through `url`. */
export type ProxyChoice = { readonly kind: 'env' } | { readonly kind: 'off' } | { readonly kind: 'url'; readonly url: URL };

/** `--proxy` (serve's `proxy`): `env`, `off`, or a proxy URL (see {@linkcode parseProxyUrl}). */
export function parseProxyChoice(name: string, text: string): ProxyChoice {
  const value = text.trim();
  if (value === 'env' || value === 'off') return { kind: value };
  return { kind: 'url', url: parseProxyUrl(name, value, 'off, env or ') };
}

/**
 * A proxy URL, from `--proxy` or a variable of the environment (`HTTPS_PROXY`…), which `name` then
 * names. Without a scheme it is http, as curl reads `proxy.example.com:3128`. The value is never
 * echoed: a proxy URL may carry a password.
 */
export function parseProxyUrl(name: string, text: string, alternatives = ''): URL {
  const value = text.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new UsageError(`${name} must be ${alternatives}a proxy URL such as http://proxy.example.com:3128; the value given is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${name}: only http:// and https:// proxies are supported, not ${url.protocol.replace(':', '')}://`);
  }
  if (url.hostname === '') throw new UsageError(`${name}: the proxy URL names no host`);
  return url;
}
