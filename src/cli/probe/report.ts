/**
 * What `probe` found, as data. `--json` prints this object as is; its field names are stable
 * (documented in README) and versioned by `schemaVersion`.
 */
export interface ProbeReport {
  readonly schemaVersion: 1;
  /** The endpoint, without query string. */
  readonly url: string;
  readonly server: ServerFacts;
  readonly liveCheck: Exchange;
  /** The lost-session answers: never-issued id, no id, GET, DELETE, terminated session. */
  readonly checks: readonly Check[];
  readonly verdict: Verdict;
  /** Which recovery behaviours would cope with this server. */
  readonly coping: Coping;
  readonly idle: IdleReport | undefined;
  /** The protocol eras and transports the server speaks, and what `mcp-lifeline <url>` would speak. */
  readonly eras: EraReport;
}

/** One era or transport: spoken (true), not spoken (false), or not checked (null), and why. */
export interface EraSupport {
  readonly speaks: boolean | null;
  /** The evidence: what the server answered. */
  readonly detail: string;
}

export interface EraReport {
  /** 2026-07-28 stateless: a `server/discover` DiscoverResult, with the revisions it offered. */
  readonly modern: EraSupport & { readonly versions: readonly string[] };
  /** 2025-era Streamable HTTP: `initialize` over POST, with the revision it negotiated. */
  readonly streamableHttp: EraSupport & { readonly protocolVersion: string | null };
  /** 2024-11-05 HTTP+SSE: GET opened a stream naming a POST endpoint (checked only when POST found no endpoint). */
  readonly httpSse: EraSupport;
  /** What `mcp-lifeline <url>` speaks with the defaults (`--protocol auto --transport auto`). */
  readonly auto: string;
}

export interface ServerFacts {
  readonly name: string | undefined;
  readonly version: string | undefined;
  readonly protocolVersion: string | undefined;
  /** Whether `initialize` was answered with an `Mcp-Session-Id`. */
  readonly sessionIssued: boolean;
  /** The issued id, redacted to its first four characters. */
  readonly sessionId: string | undefined;
  /** Capability names, with their flags: `tools (listChanged)`. */
  readonly capabilities: readonly string[];
}

/** One HTTP exchange: what was sent and what came back. */
export interface Exchange {
  /** What was sent, in words: "POST tools/list with a never-issued session id". */
  readonly request: string;
  /** HTTP status, or null when the request failed on the network. */
  readonly status: number | null;
  readonly contentType: string | null;
  /** The start of the body, one line. */
  readonly excerpt: string;
  /** Set when the request failed on the network. */
  readonly error: string | undefined;
}

export type CheckName = 'unknown-session' | 'no-session' | 'get-unknown-session' | 'delete-own-session' | 'terminated-session';

export interface Check extends Exchange {
  readonly name: CheckName;
  /** The classifier's verdict on the answer. */
  readonly lost: boolean;
  /** The rule that matched (loss), or the negative rule that ruled it out. */
  readonly rule: string | undefined;
  /** Why it is not a loss, or a note on the exchange ("405: DELETE not supported"). */
  readonly note: string | undefined;
}

type VerdictKind = 'spec-404' | 'recognised-non-404' | 'stateless' | 'accepts-unknown-session' | 'not-recognised';

export interface Verdict {
  readonly kind: VerdictKind;
  /** The rule the verdict rests on. */
  readonly rule: string | undefined;
  /** The verdict in plain words. */
  readonly summary: string;
}

export interface Coping {
  /** Hosts that re-initialize on 404 only (opencode, mcp-remote, Codex). */
  readonly hostsRecoveringOn404: boolean;
  /** Hosts that never re-initialize (the official TypeScript and Python SDK clients). */
  readonly hostsWithoutRecovery: boolean;
  readonly mcpLifeline: boolean;
}

export interface IdleReport {
  /** Idle intervals tried, in ms, in order. */
  readonly stepsMs: readonly number[];
  /** The longest idle interval the session survived, in ms (0: none). */
  readonly survivedMs: number;
  /** The interval after which it was gone, in ms; undefined if it survived every one. */
  readonly diedAfterMs: number | undefined;
  /** The classifier's rule for the answer the expired session got. */
  readonly rule: string | undefined;
  /** Ctrl-C stopped the measurement early. */
  readonly interrupted: boolean;
  readonly summary: string;
  /**
   * The bridge's `--keepalive` value this implies, when the session died: `auto:` and the bracket's
   * upper end (`auto:4m`), so that pings keep sessions alive from the start.
   */
  readonly keepalive: string | undefined;
}
