import { randomUUID } from 'node:crypto';
import { importOptional } from '../errors/MissingPackageError.js';
import { type Backoff, backoffDelay } from '../shared/backoff.js';
import { sleep } from '../shared/timers.js';
import type { SessionStore, StoredSession, StoredSessionChange, StoreLock, StoreWatcher } from './session-store.js';

/** Options of {@linkcode createRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS); Valkey speaks the same protocol. */
  readonly url: string;
  /** Forget a record after this long without a request, in ms (Redis expires it). */
  readonly idleTtlMs: number;
  /** Prefix of every key, so several gateways can share one database. @default 'mcp-lifeline:' */
  readonly prefix?: string | undefined;
  /** Bound, in ms, on every command (and on the first connection). @default 2000 */
  readonly commandTimeoutMs?: number;
  /**
   * How often, in ms, a watching process publishes a heartbeat on the ended-sessions channel; it
   * counts as deaf (asks the store on every request) after three intervals without hearing one.
   * @default 1000
   */
  readonly heartbeatMs?: number;
  /** Connection trouble, for the logs; the client keeps reconnecting (backing off to 2 s). */
  readonly onError?: (error: Error) => void;
}

/** What the gateway uses of a Redis client: raw commands, so any protocol-compatible server works. */
interface RedisConnection {
  sendCommand<T>(args: readonly string[]): Promise<T>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  duplicate(): RedisConnection;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  readonly isReady: boolean;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown;
}

export const DEFAULT_REDIS_PREFIX = 'mcp-lifeline:';
const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
const DEFAULT_HEARTBEAT_MS = 1000;
/** How the Redis client reconnects: 50 ms doubling to 2 s. */
const REDIS_RECONNECT: Backoff = { initialDelayMs: 50, maxDelayMs: 2000 };
// Messages on the ended-sessions channel: an end (`e:` and the key), or a heartbeat.
const ENDED_PREFIX = 'e:';
const HEARTBEAT = 'h';

// Each record is one hash: scalar fields, plus one `sub:<uri>` field per subscription, so that
// concurrent changes from several replicas (a subscribe here, a recovery there) all land.
const PUT = `redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])`;

// ARGV: ttl, then triples (op, field, value) with op 'set' or 'del'. No-op on a missing record.
const UPDATE = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 3 do
  if ARGV[i] == 'set' then redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2]) else redis.call('HDEL', KEYS[1], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// KEYS: record, caller set prefix. ARGV: ttl, now, key.
const TOUCH = `local caller = redis.call('HGET', KEYS[1], 'caller')
if not caller then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2] .. caller, ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2] .. caller, ARGV[1])
return 1`;

// KEYS: record, tombstone, caller set prefix. ARGV: tombstone ms, key, channel. The end is published
// in the same step as the tombstone: every watching replica hears of it before the DELETE is answered.
const END = `local caller = redis.call('HGET', KEYS[1], 'caller')
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
if caller then redis.call('ZREM', KEYS[3] .. caller, ARGV[2]) end
redis.call('PUBLISH', ARGV[3], 'e:' .. ARGV[2])
return 1`;

// KEYS: caller set. ARGV: now, ttl, limit, key.
const ADMIT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// KEYS: caller set. ARGV: now, ttl. The member with the oldest last use, after the expired are dropped.
const LEAST_RECENT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, 0)[1]`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The Redis client package (`@redis/client`, an optional peer dependency), loaded; rejects with a
 * MissingPackageError naming it when it is not installed. Nothing is contacted.
 */
export function loadRedisClient() {
  return importOptional('@redis/client', 'the Redis session store (serve --store redis://…)', () => import('@redis/client'));
}

/**
 * The session table in Redis or Valkey, shared by every replica. The client library
 * (`@redis/client`, node-redis) is an optional peer dependency, loaded only when this store is
 * used: without it, this rejects with a `MissingPackageError` naming it. One database or a primary
 * with replicas; not Redis Cluster (scripts touch keys they compute).
 */
export async function createRedisStore(options: RedisStoreOptions): Promise<SessionStore> {
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const { createClient } = await loadRedisClient();
  const client = createClient({
    url: options.url,
    // While the connection is down, commands fail at once (the gateway answers 503) rather than
    // wait in a queue and run later, after the client was told they failed.
    disableOfflineQueue: true,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: (retries: number) => backoffDelay(REDIS_RECONNECT, retries) },
  }) as unknown as RedisConnection;
  client.on('error', (error) => options.onError?.(error));
  // Connect in the background: a replica may start before Redis does; /readyz says when it can serve.
  const connected = client.connect().catch((error: unknown) => options.onError?.(error as Error));
  // A store that is up is connected by the time the gateway starts (bounded: one command's bound).
  await Promise.race([connected, sleep(timeoutMs, { onAbort: 'resolve', unref: true })]);

  const record = (key: string) => `${prefix}session:${key}`;
  const tombstone = (key: string) => `${prefix}ended:${key}`;
  const lockKey = (key: string) => `${prefix}lock:${key}`;
  const callers = `${prefix}caller:`;
  const channel = `${prefix}ended`;
  const ttl = String(options.idleTtlMs);
  const unwatchers = new Set<() => void>();

  const command = <T>(args: readonly string[]): Promise<T> => bounded(client.sendCommand<T>(args), timeoutMs, args[0] ?? 'command');
  const script = <T>(source: string, keys: readonly string[], args: readonly string[]) =>
    command<T>(['EVAL', source, String(keys.length), ...keys, ...args]);

  /** Subscribes to ended sessions on a connection of its own, with a heartbeat that proves it still hears. */
  function watch(watcher: StoreWatcher): () => void {
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const subscriber = client.duplicate();
    let subscribed = false;
    let listening = false;
    let stopped = false;
    let heard = 0;
    const change = (up: boolean, error?: Error) => {
      if (stopped || up === listening) return;
      listening = up;
      watcher.listening(up, error);
    };
    subscriber.on('error', (error) => change(false, error));
    subscriber.on('end', () => change(false));
    subscriber.on('reconnecting', () => change(false));
    // After a reconnection, `ready` comes once the client has subscribed again.
    subscriber.on('ready', () => {
      if (subscribed) {
        heard = Date.now();
        change(true);
      }
    });
    const onMessage = (message: string) => {
      heard = Date.now();
      if (message.startsWith(ENDED_PREFIX)) watcher.ended(message.slice(ENDED_PREFIX.length));
    };
    subscriber
      .connect()
      .then(() => subscriber.subscribe(channel, onMessage))
      .then(() => {
        subscribed = true;
        heard = Date.now();
        change(true);
      })
      .catch((error: unknown) => change(false, error as Error));
    // A connection can die without a word (a network partition): silence means deaf.
    const heartbeat = setInterval(() => {
      command(['PUBLISH', channel, HEARTBEAT]).catch(() => {});
      if (listening && Date.now() - heard > 3 * heartbeatMs) {
        change(false, new Error(`no heartbeat from the store for ${Date.now() - heard} ms`));
      }
    }, heartbeatMs);
    heartbeat.unref();
    const stop = () => {
      stopped = true;
      clearInterval(heartbeat);
      unwatchers.delete(stop);
      try {
        subscriber.destroy();
      } catch {
        // Never connected: nothing to close.
      }
    };
    unwatchers.add(stop);
    return stop;
  }

  return {
    kind: 'redis',
    shared: true,
    address: describeStoreUrl(options.url),
    watch,
    async get(key) {
      const fields = await command<string[] | Record<string, string>>(['HGETALL', record(key)]);
      return parseRecord(Array.isArray(fields) ? pairs(fields) : fields);
    },
    async put(key, session) {
      await script(PUT, [record(key)], [ttl, ...serializeRecord(session)]);
    },
    async update(key: string, change: StoredSessionChange) {
      await script(UPDATE, [record(key)], [ttl, ...changeOps(change)]);
    },
    async touch(key) {
      await script(TOUCH, [record(key), callers], [ttl, String(Date.now()), key]);
    },
    async end(key, tombstoneMs) {
      await script(END, [record(key), tombstone(key), callers], [String(Math.max(1, Math.round(tombstoneMs))), key, channel]);
    },
    async isEnded(key) {
      return (await command<number>(['EXISTS', tombstone(key)])) === 1;
    },
    async admit(caller, key, limit) {
      return (await script<number>(ADMIT, [`${callers}${caller}`], [String(Date.now()), ttl, String(limit), key])) === 1;
    },
    async release(caller, key) {
      await command(['ZREM', `${callers}${caller}`, key]);
    },
    async leastRecentlyUsed(caller) {
      return (await script<string | null>(LEAST_RECENT, [`${callers}${caller}`], [String(Date.now()), ttl])) ?? undefined;
    },
    async lock(key, ttlMs): Promise<StoreLock | undefined> {
      const owner = randomUUID();
      const taken = await command<string | null>(['SET', lockKey(key), owner, 'NX', 'PX', String(Math.max(1, Math.round(ttlMs)))]);
      if (taken !== 'OK') return undefined;
      return {
        async release() {
          await script(RELEASE, [lockKey(key)], [owner]).catch(() => {});
        },
      };
    },
    async isLocked(key) {
      return (await command<number>(['EXISTS', lockKey(key)])) === 1;
    },
    async ping() {
      await command(['PING']);
    },
    async keys() {
      return []; // shared: upstream sessions outlive this replica, another one serves them
    },
    async close() {
      for (const stop of [...unwatchers]) stop();
      // Never connected (still retrying): nothing to say goodbye to.
      if (!client.isReady) {
        client.destroy();
        await connected;
        return;
      }
      await bounded(client.close(), timeoutMs, 'QUIT').catch(() => client.destroy());
    },
  };
}

/** A store URL without its password, for messages. */
export function describeStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function serializeRecord(session: StoredSession): string[] {
  const fields = [
    'caller',
    session.caller,
    'params',
    JSON.stringify(session.initializeParams ?? {}),
    'createdAt',
    String(session.createdAt),
  ];
  if (session.serverId !== undefined) fields.push('serverId', session.serverId);
  if (session.protocolVersion !== undefined) fields.push('protocolVersion', session.protocolVersion);
  if (session.logLevel !== undefined) fields.push('logLevel', session.logLevel);
  for (const uri of session.subscriptions) fields.push(`sub:${uri}`, '1');
  return fields;
}

function changeOps(change: StoredSessionChange): string[] {
  const set = (field: string, value: string | undefined) => (value === undefined ? ['del', field, ''] : ['set', field, value]);
  switch (change.kind) {
    case 'server-session':
      return [...set('serverId', change.serverId), ...set('protocolVersion', change.protocolVersion)];
    case 'log-level':
      return set('logLevel', change.level);
    case 'subscribe':
      return set(`sub:${change.uri}`, '1');
    case 'unsubscribe':
      return set(`sub:${change.uri}`, undefined);
  }
}

function parseRecord(fields: Record<string, string>): StoredSession | undefined {
  const caller = fields['caller'];
  if (caller === undefined) return undefined;
  let initializeParams: unknown = {};
  try {
    initializeParams = JSON.parse(fields['params'] ?? '{}');
  } catch {
    // A record we cannot read is rebuilt from the client's session id, like a missing one.
    return undefined;
  }
  return {
    caller,
    initializeParams,
    serverId: fields['serverId'],
    protocolVersion: fields['protocolVersion'],
    logLevel: fields['logLevel'],
    subscriptions: Object.keys(fields)
      .filter((field) => field.startsWith('sub:'))
      .map((field) => field.slice(4)),
    createdAt: Number(fields['createdAt'] ?? 0),
  };
}

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let index = 0; index + 1 < flat.length; index += 2) out[flat[index] as string] = flat[index + 1] as string;
  return out;
}

function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store: ${what} got no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
