/**
 * Removes known secrets from text before it reaches a log line, an event or a message to the host.
 * Servers quote what they were sent (headers in a 400 body, a token in a 401 page); the sender is
 * the one party that knows every secret it sent, so it scrubs them from whatever it repeats.
 */
export interface SecretScrubber {
  /** Registers a secret (and the encodings servers quote it in). Values shorter than 4 characters are ignored. */
  add(value: string): void;
  /** Registers the secret parts of a header value: the whole value and, for `Scheme credentials`, the credentials. */
  addHeader(name: string, value: string): void;
  /**
   * Registers what a request sends: every header value (see `addHeader`; a session id is not
   * hidden but shortened, by `redactIds`) and, with `url`, the values in its query (`?api_key=…`).
   */
  addRequest(headers: Headers | Readonly<Record<string, string>>, url?: URL): void;
  /** `text` with every registered secret replaced by `[redacted]`. */
  scrub(text: string): string;
}

const REDACTED = '[redacted]';
// Shorter values are too likely to be ordinary words ("json", "1") to be worth scrubbing.
const MIN_SECRET_LENGTH = 4;
// Headers whose values describe the request, not the caller: never secrets.
const PUBLIC_HEADERS = new Set(['accept', 'content-type', 'mcp-protocol-version', 'user-agent', 'last-event-id']);

/** Creates an empty scrubber; `values` are added as secrets. */
export function createSecretScrubber(values: Iterable<string> = []): SecretScrubber {
  const secrets = new Set<string>();
  let pattern: RegExp | undefined;

  const addOne = (value: string) => {
    if (value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
    secrets.add(value);
    pattern = undefined;
  };

  const scrubber: SecretScrubber = {
    add(value) {
      for (const form of encodingsOf(value)) addOne(form);
    },
    addHeader(name, value) {
      if (PUBLIC_HEADERS.has(name.toLowerCase())) return;
      scrubber.add(value);
      // "Bearer abc", "Token abc", "Basic dXNlcjpwYXNz": the credentials alone are the secret.
      const credentials = /^\s*[A-Za-z][\w.+-]*\s+(\S.*)$/.exec(value)?.[1];
      if (credentials === undefined) return;
      scrubber.add(credentials);
      if (/^basic\s/i.test(value.trim())) {
        const decoded = decodeBase64(credentials.trim());
        if (decoded !== undefined) {
          scrubber.add(decoded);
          const password = decoded.slice(decoded.indexOf(':') + 1);
          if (decoded.includes(':')) scrubber.add(password);
        }
      }
    },
    addRequest(headers, url) {
      const addOne = (value: string, name: string) => {
        if (name.toLowerCase() !== 'mcp-session-id') scrubber.addHeader(name, value);
      };
      if (headers instanceof Headers) headers.forEach(addOne);
      else for (const [name, value] of Object.entries(headers)) addOne(value, name);
      if (url !== undefined) for (const value of url.searchParams.values()) scrubber.add(value);
    },
    scrub(text) {
      if (secrets.size === 0 || text.length < MIN_SECRET_LENGTH) return text;
      pattern ??= new RegExp(
        [...secrets]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      );
      return text.replace(pattern, REDACTED);
    },
  };
  for (const value of values) scrubber.add(value);
  return scrubber;
}

/** A scrubber for what a request sends (see {@linkcode SecretScrubber.addRequest}). */
export function scrubberForRequest(headers: Headers | Readonly<Record<string, string>>, url?: URL): SecretScrubber {
  const scrubber = createSecretScrubber();
  scrubber.addRequest(headers, url);
  return scrubber;
}

/** The forms a value takes when a server quotes it: as is, URL-encoded, JSON-escaped, base64. */
function encodingsOf(value: string): string[] {
  const forms = [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
  const base64 = encodeBase64(value);
  if (base64 !== undefined) forms.push(base64, base64.replace(/=+$/, ''));
  return forms;
}

function encodeBase64(value: string): string | undefined {
  try {
    return btoa(String.fromCharCode(...new TextEncoder().encode(value)));
  } catch {
    return undefined;
  }
}

function decodeBase64(value: string): string | undefined {
  try {
    const binary = atob(value);
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
