import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../recovery/outgoing-request.js';
import { checkDiscovery, discoverSignIn } from './discovery.js';
import { type HeldLease, type LeaseOwner, withLease } from './lease.js';
import { emptyRecord, type OAuthStore, type ServerRecord, type StoredTokens } from './oauth-store.js';
import type { OAuthEvent, ResolvedSessionOptions } from './session-options.js';
import { currentGrant } from './store-provider.js';
import { toStoredTokens } from './token-response.js';

/** How long a look at the store stays fresh for requests that only need the current token. */
const STORE_RECHECK_MS = 1000;

/** What {@linkcode StoredSignIn} keeps its record for. */
export interface StoredSignInPlan {
  readonly serverUrl: string;
  readonly store: OAuthStore;
  readonly config: ResolvedSessionOptions;
  /** The fetch of every sign-in request (discovery among them). */
  readonly fetch: FetchLike;
  readonly emit: (event: OAuthEvent) => void;
}

/**
 * One server's sign-in record as this process sees it: read from the store at most once a second
 * for requests that only need the token, and held in memory while this process holds the
 * cross-process lease (then it is the truth). Operations that change it run one at a time in this
 * process, under the lease, on a freshly read record.
 */
export class StoredSignIn {
  private cached: { record: ServerRecord; mtimeMs: number | undefined; checkedAt?: number } | undefined;
  // Inside our own lease: the record in memory is the truth, and no refresh may start from tokens().
  // Waiting processes read what the lease says of this holder (its bound, the user's prompt).
  private held: HeldLease | undefined;
  private exclusive: Promise<unknown> = Promise.resolve();
  private readonly plan: StoredSignInPlan;

  constructor(plan: StoredSignInPlan) {
    this.plan = plan;
  }

  /** Whether this process holds the lease now (an operation under it is running). */
  get leased(): boolean {
    return this.held !== undefined;
  }

  /** Tells the processes waiting for this one's lease until when it waits for the user, and what it asks. */
  describeLease(detail: Pick<LeaseOwner, 'until' | 'prompt'>): void {
    this.held?.describe(detail).catch(() => {});
  }

  async load(): Promise<ServerRecord> {
    const { store, serverUrl } = this.plan;
    if (this.held !== undefined && this.cached !== undefined) return this.cached.record;
    // Every request asks for the token: the store is looked at (a stat) at most once a second, not
    // per request. What another process wrote in that second is found when the server answers 401:
    // renewing reads the store again under the lease.
    const now = Date.now();
    if (this.cached?.checkedAt !== undefined && now - this.cached.checkedAt < STORE_RECHECK_MS) return this.cached.record;
    const mtimeMs = await store.mtimeOf(serverUrl);
    if (this.cached !== undefined && this.cached.mtimeMs === mtimeMs) {
      this.cached.checkedAt = now;
      return this.cached.record;
    }
    const read = await store.read(serverUrl);
    this.cached = { ...(read ?? { record: emptyRecord(serverUrl), mtimeMs }), checkedAt: now };
    return this.vetStoredDiscovery(this.cached.record);
  }

  async save(record: ServerRecord): Promise<void> {
    this.cached = { record, mtimeMs: await this.plan.store.write(record) };
  }

  /** The store changed under us (the record was removed): read it anew next time. */
  forget(): void {
    this.cached = undefined;
  }

  /** The record's discovery, or a new one (checked, and stored): the start of every flow. */
  async ensureDiscovery(record: ServerRecord, resourceMetadataUrl: URL | undefined): Promise<OAuthDiscoveryState> {
    if (record.discovery !== undefined) return record.discovery;
    const found = await discoverSignIn(this.plan.serverUrl, { resourceMetadataUrl, fetch: this.plan.fetch });
    record.discovery = found;
    await this.save(record);
    return found;
  }

  /** Stores a token endpoint's answer in the record's current grant; resolves with the access token. */
  async storeTokens(record: ServerRecord, tokens: OAuthTokens, scope: string | undefined): Promise<string> {
    const issuer = record.discovery?.authorizationServerUrl;
    const grant = currentGrant(record);
    if (issuer === undefined || grant === undefined) throw new Error('tokens without a discovered authorization server');
    grant.tokens = { ...toStoredTokens(tokens, Date.now()), issuer };
    if (scope !== undefined) grant.scope = scope;
    await this.save(record);
    return tokens.access_token;
  }

  /** Whether tokens are due for a refresh: past a fifth of their life before expiry, at most `refreshAheadMs`. */
  expiresSoon(tokens: StoredTokens): boolean {
    if (tokens.expires_at === undefined) return false;
    const ahead = Math.min(this.plan.config.refreshAheadMs, (tokens.expires_at - tokens.obtained_at) / 5);
    return Date.now() >= tokens.expires_at - ahead;
  }

  /**
   * Runs `work` holding the lease, one operation at a time in this process, on a freshly read
   * record; waits at most `waitMs` for another process's lease (`LEASE_TIMEOUT` after it).
   */
  underLease<T>(
    purpose: string,
    work: (record: ServerRecord, waited: { since: number } | undefined) => Promise<T>,
    waitMs = this.plan.config.signInTimeoutMs + 30_000,
  ): Promise<T> {
    const run = () => this.runLeased(purpose, work, waitMs);
    const result = this.exclusive.then(run, run);
    this.exclusive = result.catch(() => {});
    return result;
  }

  private runLeased<T>(
    purpose: string,
    work: (record: ServerRecord, waited: { since: number } | undefined) => Promise<T>,
    waitMs: number,
  ): Promise<T> {
    const { emit } = this.plan;
    let waited: { since: number } | undefined;
    const since = Date.now();
    return withLease(
      this.plan.store.fileOf(this.plan.serverUrl),
      {
        waitMs,
        purpose,
        onWait: (owner) => {
          waited = { since };
          emit({ type: 'waiting', pid: owner?.pid, purpose: owner?.purpose, until: owner?.until, prompt: owner?.prompt });
        },
        // A prompt the holder had not said before (the one it had is in the 'waiting' event).
        onOwnerChange: (owner, previous) => {
          if (owner.prompt !== undefined && JSON.stringify(owner.prompt) !== JSON.stringify(previous?.prompt))
            emit({ type: 'holder-prompt', pid: owner.pid, prompt: owner.prompt });
        },
      },
      async (lease) => {
        try {
          // Another process may have written while we waited: read it again, then keep it in memory.
          // (load() reads the store: no recheck window applies to an empty cache.)
          this.cached = undefined;
          const record = await this.load();
          this.held = lease;
          return await work(record, waited);
        } finally {
          this.held = undefined;
        }
      },
    );
  }

  /**
   * A stored discovery passes the same checks as a new one before its tokens are sent or
   * refreshed (a store written by an older version, or by hand); one that fails is forgotten, so
   * the next sign-in discovers anew and says why it refuses.
   */
  private vetStoredDiscovery(record: ServerRecord): ServerRecord {
    if (record.discovery === undefined) return record;
    try {
      checkDiscovery(this.plan.serverUrl, record.discovery);
    } catch (error) {
      record.discovery = undefined;
      this.plan.emit({ type: 'stored-sign-in-refused', message: (error as Error).message });
    }
    return record;
  }
}
