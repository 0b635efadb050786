import { prototypeMethod } from '../recovery/prototype-method.js';

/** An answer's header fields as Node's HTTP client parses them: lowercase names, one trimmed string value each. */
export type ParsedHeaderFields = Readonly<Record<string, string>>;

// A header name (RFC 9110 §5.1: a token); `Headers` throws for any other name, and so does this.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The headers of an answer, read in place from the record Node's HTTP client parsed: `Headers` as
 * fetch's answers have them (read-only, listed sorted by name), without the copy. undici's
 * `Headers` converts and checks every field as it is built, and each name again on every `get`:
 * about 25 K instructions of the 0.44 M a call through `serve` costs (callgrind, issue 21). Node's
 * parser already checked the fields, trimmed their values and lowercased their names, and joins
 * repeated ones with ", " as `Headers.get` does (`joinDuplicateHeaders`). Not for `set-cookie`,
 * which Node keeps as a list.
 */
export class IncomingHeaders extends Headers {
  readonly #fields: ParsedHeaderFields;
  #sorted: [string, string][] | undefined;

  constructor(fields: ParsedHeaderFields) {
    super();
    this.#fields = fields;
  }

  /**
   * The parsed record under `headers` when they are one of these, else undefined: for a reader
   * that takes every field in any order (the gateway's answer headers), without the sorted list
   * `forEach` builds.
   */
  static fieldsOf(headers: Headers): ParsedHeaderFields | undefined {
    return #fields in headers ? headers.#fields : undefined;
  }

  static {
    // Defined on the prototype: the DOM typings declare Headers' methods as properties, which a
    // class body may not override with methods (as in WatchedResponse).
    const get = Headers.prototype.get;
    const has = Headers.prototype.has;
    const fieldValue = (headers: IncomingHeaders, name: string): string | undefined => {
      const fields = headers.#fields;
      // (`typeof`: the record has Object's prototype, and `get('constructor')` must not find a function.)
      const value = fields[name];
      if (typeof value === 'string') return value;
      const lower = name.toLowerCase();
      if (lower === name) return undefined;
      const found = fields[lower];
      return typeof found === 'string' ? found : undefined;
    };
    const list = (headers: IncomingHeaders): [string, string][] => {
      if (headers.#sorted === undefined) {
        const fields = headers.#fields;
        headers.#sorted = Object.keys(fields)
          .sort()
          .map((name) => [name, fields[name] as string]);
      }
      return headers.#sorted;
    };
    const immutable = (what: string) => () => {
      throw new TypeError(`Headers.${what}: the headers of an answer are immutable`);
    };
    const entries = function entries(this: IncomingHeaders) {
      return list(this)[Symbol.iterator]();
    };
    Object.defineProperties(IncomingHeaders.prototype, {
      // A name is taken as `Headers` takes it: whatever it is given, as a string.
      get: prototypeMethod(function (this: IncomingHeaders, given: string): string | null {
        const name = String(given);
        const value = fieldValue(this, name);
        if (value !== undefined) return value;
        // Not a header name: the TypeError of `Headers` (the empty one underneath checks the name).
        return TOKEN.test(name) ? null : get.call(this, name);
      }),
      has: prototypeMethod(function (this: IncomingHeaders, given: string): boolean {
        const name = String(given);
        return fieldValue(this, name) !== undefined || (!TOKEN.test(name) && has.call(this, name));
      }),
      getSetCookie: prototypeMethod((): string[] => []),
      set: prototypeMethod(immutable('set')),
      append: prototypeMethod(immutable('append')),
      delete: prototypeMethod(immutable('delete')),
      forEach: prototypeMethod(function (
        this: IncomingHeaders,
        callback: (value: string, name: string, parent: Headers) => void,
        thisArg?: unknown,
      ): void {
        for (const [name, value] of list(this)) callback.call(thisArg, value, name, this);
      }),
      entries: prototypeMethod(entries),
      [Symbol.iterator]: prototypeMethod(entries),
      keys: prototypeMethod(function (this: IncomingHeaders) {
        return list(this)
          .map(([name]) => name)
          [Symbol.iterator]();
      }),
      values: prototypeMethod(function (this: IncomingHeaders) {
        return list(this)
          .map(([, value]) => value)
          [Symbol.iterator]();
      }),
    });
  }
}
