import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LifelineError } from '../errors/LifelineError.js';

/** What a client-facing session id carries: enough to rebuild the session on any replica. */
export interface SessionClaims {
  /** The gateway's key for the session (random, 128 bits): names its record in the store. */
  readonly sid: string;
  /** The client's `initialize` params: what a rebuilt upstream session is opened with. */
  readonly initializeParams: unknown;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
}

/** Who may use a session id, and where: bound into the token, so it cannot be moved. */
interface TokenBinding {
  readonly upstream: string;
  readonly caller: string;
}

/** Seals and opens client-facing session ids. */
export interface SessionTokens {
  /** A new session id for `claims`, encrypted with the newest key. Throws TokenTooLargeError. */
  seal(claims: SessionClaims, binding: TokenBinding): string;
  /**
   * What seals `claims` (as {@linkcode seal}), checked for size now: throws TokenTooLargeError at
   * once when they cannot fit. Claims that surely fit are sealed only when it is called, so a
   * caller can seal while it waits for something else (a new session's upstream `initialize`).
   */
  sealer(claims: SessionClaims, binding: TokenBinding): () => string;
  /** The claims of a session id sealed for this binding with any accepted key; undefined otherwise. */
  open(token: string, binding: TokenBinding): SessionClaims | undefined;
}

/** The initialize params are too large to travel in a session id header. */
export class TokenTooLargeError extends LifelineError<'TOKEN_TOO_LARGE'> {
  override name = 'TokenTooLargeError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('TOKEN_TOO_LARGE', message, options);
  }
}

/** Session ids longer than this are refused: HTTP servers and proxies cap header sizes (8 KiB is common). */
const MAX_TOKEN_LENGTH = 4096;
/**
 * Largest client `initialize` params a session id carries, as JSON. Real ones are a few hundred
 * bytes; without a bound, params that compress well (a megabyte of one letter) would fit in a
 * short session id and cost every replica that opens it a megabyte.
 */
const MAX_PARAMS_BYTES = 64 * 1024;
const VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
const CACHE_LIMIT = 4096;
/**
 * Params up to this many bytes of JSON fit in a session id however badly they compress: raw
 * deflate adds at most 5 bytes per 16 KiB block plus a few to its input (zlib's deflateBound), and
 * the id is base64 of the header and the encrypted deflate. Kept well inside that bound.
 */
const SURELY_FITS_BYTES = Math.floor((MAX_TOKEN_LENGTH * 3) / 4) - HEADER_BYTES - 64;
/**
 * zlib's defaults allocate about 256 KiB for each call (a 32 KiB window, hash tables at memLevel
 * 8): measured here, 8 µs at the median but 0.7–0.9 ms at the 99th percentile of new sessions.
 * Initialize params are a few hundred bytes, which a 1 KiB window covers; the output is the same
 * raw deflate, which any inflate reads (ids sealed before this open as they did, and the other way round).
 */
const SMALL_DEFLATE = { windowBits: 10, memLevel: 2, level: 1 };
/**
 * Claims up to this many bytes of JSON are sealed as one stored deflate block, written here
 * (RFC 1951 §3.2.4: a header byte, the length and its complement, the bytes as they are): still
 * format 1, which any raw inflate reads (a replica of an earlier release opens these ids), without
 * a zlib context per session. zlib cost about 0.15 M instructions a session even with the small
 * settings above (its 64 KiB hash table cleared at every init, dynamic Huffman trees built for a
 * few hundred bytes), a sixth of what a new session and its end cost the gateway in all. The price:
 * ids longer by what deflate would have saved, 30-50 characters for claims this small (the
 * params of most hosts); larger claims (hosts that send icons and titles, 400 bytes and more)
 * are still deflated, or their ids would grow by a few hundred characters, sent with every request.
 */
const STORED_CLAIMS_BYTES = 256;
const STORED_HEADER_BYTES = 5;

/**
 * Session ids as authenticated encryption (AES-256-GCM) of what rebuilds the session: the session
 * key, the client's initialize params and the issue time. The upstream name and the caller's
 * identity are the additional authenticated data: a session id opens only for the caller it was
 * issued to, on the upstream it was issued for; a forged or altered one does not open at all.
 *
 * `keys` are 32-byte keys, newest first: the newest seals, all open (rotation: add a key in front,
 * later drop the old one once its sessions have aged out). Each token names its key by a 4-byte
 * fingerprint.
 */
export function createSessionTokens(keys: readonly Uint8Array[]): SessionTokens {
  if (keys.length === 0) throw new TypeError('session tokens: at least one key is needed');
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key.length !== 32) throw new TypeError(`session tokens: keys must be 32 bytes, got ${key.length}`);
    byId.set(keyId(key).toString('hex'), Buffer.from(key));
  }
  const newest = Buffer.from(keys[0] as Uint8Array);
  const newestId = keyId(newest);
  // Opening is on every request: remember recent results (a token opens the same way every time,
  // and for one binding only). Keyed by the token alone: no key string built per request.
  const opened = new Map<string, { readonly binding: TokenBinding; readonly claims: SessionClaims }>();

  /** The claims as the JSON a session id carries; throws TokenTooLargeError past the params bound. */
  function claimsJson(claims: SessionClaims): Buffer {
    const json = Buffer.from(JSON.stringify([claims.sid, claims.issuedAt, claims.initializeParams ?? {}]));
    if (json.length > MAX_PARAMS_BYTES) {
      throw new TokenTooLargeError(
        `the client's initialize params are too large (${json.length} bytes as JSON, at most ${MAX_PARAMS_BYTES})`,
      );
    }
    return json;
  }

  function sealJson(json: Buffer, claims: SessionClaims, binding: TokenBinding): string {
    const iv = random.bytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', newest, iv);
    cipher.setAAD(aad(binding));
    const encrypted = cipher.update(json.length <= STORED_CLAIMS_BYTES ? storedBlock(json) : deflateRawSync(json, SMALL_DEFLATE));
    const final = cipher.final();
    const token = Buffer.concat([Buffer.from([VERSION]), newestId, iv, cipher.getAuthTag(), encrypted, final]).toString('base64url');
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new TokenTooLargeError(
        `the client's initialize params are too large to carry in a session id (${token.length} characters, at most ${MAX_TOKEN_LENGTH})`,
      );
    }
    // The session's first request opens it without decrypting.
    remember(token, binding, claims);
    return token;
  }

  return {
    seal: (claims, binding) => sealJson(claimsJson(claims), claims, binding),
    sealer(claims, binding) {
      const json = claimsJson(claims);
      if (json.length <= SURELY_FITS_BYTES) return () => sealJson(json, claims, binding);
      const token = sealJson(json, claims, binding);
      return () => token;
    },
    open(token, binding) {
      if (token.length > MAX_TOKEN_LENGTH) return undefined;
      const cached = opened.get(token);
      if (cached !== undefined) {
        const sealedFor = cached.binding;
        // Sealed for another caller or upstream: it opens for that one only (and the decryption says no).
        return sealedFor.upstream === binding.upstream && sealedFor.caller === binding.caller ? cached.claims : undefined;
      }
      const claims = decrypt(token, binding);
      if (claims === undefined) return undefined;
      remember(token, binding, claims);
      return claims;
    },
  };

  function remember(token: string, binding: TokenBinding, claims: SessionClaims): void {
    if (opened.size >= CACHE_LIMIT) opened.clear();
    opened.set(token, { binding: { upstream: binding.upstream, caller: binding.caller }, claims });
  }

  function decrypt(token: string, binding: TokenBinding): SessionClaims | undefined {
    const bytes = Buffer.from(token, 'base64url');
    // One spelling per session id: Node's decoder also takes padding, `+/` and stray trailing bits,
    // which would give one session many ids (and the cache many entries).
    if (bytes.length <= HEADER_BYTES || bytes[0] !== VERSION || bytes.toString('base64url') !== token) return undefined;
    const key = byId.get(bytes.subarray(1, 1 + KEY_ID_BYTES).toString('hex'));
    if (key === undefined) return undefined;
    const ivEnd = 1 + KEY_ID_BYTES + IV_BYTES;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1 + KEY_ID_BYTES, ivEnd));
      decipher.setAAD(aad(binding));
      decipher.setAuthTag(bytes.subarray(ivEnd, HEADER_BYTES));
      const plain = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES)), decipher.final()]);
      const [sid, issuedAt, initializeParams] = JSON.parse(inflated(plain).toString('utf8')) as [unknown, unknown, unknown];
      if (typeof sid !== 'string' || typeof issuedAt !== 'number') return undefined;
      return { sid, issuedAt, initializeParams };
    } catch {
      return undefined; // altered, forged, or sealed for another caller or upstream
    }
  }
}

/** `content` as a final stored deflate block (BFINAL 1, BTYPE 00, then LEN and NLEN, then the bytes). */
function storedBlock(content: Buffer): Buffer {
  const block = Buffer.allocUnsafe(STORED_HEADER_BYTES + content.length);
  block[0] = 0b001;
  block.writeUInt16LE(content.length, 1);
  block.writeUInt16LE(content.length ^ 0xffff, 3);
  content.copy(block, STORED_HEADER_BYTES);
  return block;
}

/** Raw deflate's content: a single stored block's bytes as they are, anything else through zlib (bounded). */
function inflated(plain: Buffer): Buffer {
  const length = plain.length - STORED_HEADER_BYTES;
  if (length >= 0 && plain[0] === 0b001 && plain.readUInt16LE(1) === length && plain.readUInt16LE(3) === (length ^ 0xffff)) {
    return plain.subarray(STORED_HEADER_BYTES);
  }
  return inflateRawSync(plain, { maxOutputLength: MAX_PARAMS_BYTES });
}

/**
 * Random bytes drawn from a block fetched a few KiB at a time: a session's key and its id's IV
 * cost one call into the system's generator per 170 sessions rather than two per session. Each
 * byte is used once.
 */
class RandomPool {
  #block = Buffer.alloc(0);
  #used = 0;

  bytes(count: number): Buffer {
    if (this.#used + count > this.#block.length) {
      this.#block = randomBytes(4096);
      this.#used = 0;
    }
    const out = Buffer.from(this.#block.subarray(this.#used, this.#used + count));
    this.#used += count;
    return out;
  }
}

const random = new RandomPool();

/** A new random session key (128 bits), URL-safe. */
export function newSessionKey(): string {
  return random.bytes(16).toString('base64url');
}

function aad(binding: TokenBinding): Buffer {
  return Buffer.from(`mcp-lifeline session v${VERSION}\0${binding.upstream}\0${binding.caller}`);
}

function keyId(key: Uint8Array): Buffer {
  return createHash('sha256').update('mcp-lifeline key id\0').update(key).digest().subarray(0, KEY_ID_BYTES);
}

/**
 * Parses a key file: one key a line, newest first, each 32 bytes as base64 (44 characters, e.g.
 * `openssl rand -base64 32`) or hex (64 characters); `#` starts a comment. Throws a TypeError that
 * names the line (never its content).
 */
export function parseSessionKeys(text: string, where: string): Uint8Array[] {
  const keys: Uint8Array[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/=_-]+$/.test(trimmed)) {
      throw new TypeError(`${where}, line ${index + 1}: not a 32-byte key (expected 44 base64 or 64 hex characters)`);
    }
    keys.push(key);
  });
  if (keys.length === 0) throw new TypeError(`${where}: no key found (one a line, newest first)`);
  return keys;
}
