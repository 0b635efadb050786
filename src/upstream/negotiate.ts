import type { JsonRpcMessage } from '../shared/json-rpc.js';
import { describeUrl } from '../shared/redact.js';
import { scrubberForRequest } from '../shared/secret-scrubber.js';
import type { EraVerdict } from './classify-discover-answer.js';
import { probeServerEra } from './discover-probe.js';
import { httpErrorText } from './http-error-text.js';
import { createStreamableHttpUpstream } from './streamable-http.js';
import { type Upstream, UpstreamError, type UpstreamOptions } from './upstream.js';
import { eventReporter } from './upstream-events.js';

/** Which protocol era to speak to the server: find out (`auto`), or the one named. */
export type ProtocolChoice = 'auto' | '2025' | '2026';
/** Which transport: find out (`auto`), Streamable HTTP only (`http`), or 2024-11-05 HTTP+SSE (`sse`). */
export type TransportChoice = 'auto' | 'http' | 'sse';

export const PROTOCOL_CHOICES: readonly ProtocolChoice[] = ['auto', '2025', '2026'];
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ['auto', 'http', 'sse'];

/** An era and transport chosen for a server: the bridge's and serve's `--protocol`/`--transport`, an upstream's `era`. */
export interface EraChoice {
  readonly protocol: ProtocolChoice;
  readonly transport: TransportChoice;
}

/** Options of {@linkcode createNegotiatingUpstream}. */
export interface NegotiatingUpstreamOptions extends UpstreamOptions {
  /** @default 'auto' */
  readonly protocol?: ProtocolChoice | undefined;
  /** @default 'auto' */
  readonly transport?: TransportChoice | undefined;
  /**
   * Builds each era's upstream; replaceable to add options (backoff, bounds) or for tests.
   * @default the modules' own factories
   */
  readonly factories?: Partial<UpstreamFactories> | undefined;
}

/** The upstream of each era and transport (a promise of one: the other eras' code is loaded when met). */
interface UpstreamFactories {
  streamableHttp(options: UpstreamOptions): Upstream | Promise<Upstream>;
  legacySse(options: UpstreamOptions): Upstream | Promise<Upstream>;
  stateless(options: UpstreamOptions & { discover?: Extract<EraVerdict, { kind: 'modern' }>['discover'] }): Upstream | Promise<Upstream>;
}

// The 2025 era is the common one; the 2024 and 2026 eras' code is loaded when a server speaks them.
const DEFAULT_FACTORIES: UpstreamFactories = {
  streamableHttp: createStreamableHttpUpstream,
  legacySse: async (options) => (await import('./legacy-sse.js')).createLegacySseUpstream(options),
  stateless: async (options) => (await import('./stateless.js')).createStatelessUpstream(options),
};

/** What was decided, and why. */
interface Decision {
  readonly upstream: Upstream;
  readonly why: string;
  /** Chosen because POST found no Streamable HTTP endpoint: a failed SSE start says both. */
  readonly noStreamableHttp?: string | undefined;
  /** Chosen because nothing proved the 2026-07-28 era: a failed initialize says what the probe saw too. */
  readonly fallback?: string | undefined;
}

/**
 * The upstream behind `--protocol` and `--transport`. With `auto` it decides once, at the host's
 * `initialize`, from ONE `server/discover` probe classified strictly (see
 * `classifyDiscoverAnswer`): a DiscoverResult → 2026-07-28 stateless (the probe's answer is
 * reused, not asked again); POST refused without JSON-RPC (404/405) → 2024-11-05 HTTP+SSE; any
 * other answer (evidence of a 2025 endpoint, or nothing that proves 2026-07-28: 401/403, 5xx) →
 * Streamable HTTP with session recovery, whose `initialize` finds out the rest; no answer at all
 * (a timeout, a network failure) decides nothing and fails the `initialize` with the reason. The
 * decision is reported as an `era-decided` event; every message then goes to the chosen upstream.
 */
export function createNegotiatingUpstream(options: NegotiatingUpstreamOptions): Upstream {
  const protocol = options.protocol ?? 'auto';
  const transport = options.transport ?? 'auto';
  if (protocol === '2026' && transport === 'sse') {
    throw new TypeError('protocol "2026" cannot use transport "sse": the 2026-07-28 revision has no HTTP+SSE transport');
  }
  const factories = { ...DEFAULT_FACTORIES, ...options.factories };
  const scrub = scrubberForRequest(options.headers).scrub;
  const report = eventReporter(options.sink, scrub);
  const where = describeUrl(options.url.href);
  let chosen: Decision | undefined;
  let deciding: Promise<Decision> | undefined;
  let closed = false;

  async function decide(first: JsonRpcMessage): Promise<Decision> {
    const hostInitialize = first.method === 'initialize' ? (first.params as Record<string, unknown> | undefined) : undefined;
    if (transport === 'sse') return { upstream: await factories.legacySse(options), why: 'as --transport sse asked' };
    if (protocol === '2025' && transport === 'http')
      return { upstream: await factories.streamableHttp(options), why: 'as --protocol 2025 --transport http asked' };
    const verdict = await probeServerEra({ ...options, hostInitialize });
    switch (verdict.kind) {
      case 'modern':
        if (protocol === '2025')
          return { upstream: await factories.streamableHttp(options), why: `as --protocol 2025 asked (${verdict.evidence})` };
        return { upstream: await factories.stateless({ ...options, discover: verdict.discover }), why: verdict.evidence };
      case 'legacy':
        if (protocol === '2026')
          throw new UpstreamError(`${where} is not a 2026-07-28 server (${verdict.evidence})`, { mayHaveRun: false });
        if (verdict.fallback === true) {
          return {
            upstream: await factories.streamableHttp(options),
            why: `${verdict.evidence}: trying initialize`,
            fallback: verdict.evidence,
          };
        }
        return { upstream: await factories.streamableHttp(options), why: verdict.evidence };
      case 'no-streamable-http':
        if (transport === 'http' || protocol === '2026') {
          throw new UpstreamError(`no Streamable HTTP endpoint at ${where}: ${verdict.evidence}`, {
            mayHaveRun: false,
            status: verdict.status,
          });
        }
        return {
          upstream: await factories.legacySse(options),
          why: `${verdict.evidence}: no Streamable HTTP endpoint`,
          noStreamableHttp: httpErrorText(verdict.status, verdict.body, where),
        };
      case 'error':
        // Not era evidence. With --protocol 2025 the probe only chose the transport: go on with HTTP.
        if (protocol === '2025') return { upstream: await factories.streamableHttp(options), why: 'as --protocol 2025 asked' };
        // Without a status the probe never got an answer: its message names the failure already.
        throw new UpstreamError(
          verdict.status === undefined ? verdict.message : `cannot tell which protocol ${where} speaks: ${verdict.message}`,
          {
            mayHaveRun: false,
            status: verdict.status,
          },
        );
    }
  }

  function decided(first: JsonRpcMessage): Promise<Decision> {
    deciding ??= decide(first)
      .catch((error: unknown) => {
        // The probe's evidence quotes the server, which may quote the credentials it was sent.
        throw error instanceof UpstreamError
          ? new UpstreamError(scrub(error.message), { mayHaveRun: false, status: error.status, cause: error.cause })
          : error;
      })
      .then(
        (decision) => {
          if (closed) void decision.upstream.close();
          chosen = decision;
          const era = decision.upstream.era ?? 'unknown';
          report('info', 'era-decided', `speaking ${describeEra(era)} to ${where} (${decision.why})`, { era });
          return decision;
        },
        (error: unknown) => {
          // Nothing was decided: a later initialize may try again. The error is thrown to the
          // request that asked, and logged once there: here it is a debug line.
          deciding = undefined;
          report('debug', 'era-undecided', (error as Error).message, {});
          throw error;
        },
      );
    return deciding;
  }

  return {
    get era() {
      return chosen?.upstream.era;
    },
    async send(message, sendOptions) {
      if (closed) throw new UpstreamError('the connection to the server is closed', { mayHaveRun: false });
      const decision = chosen ?? (await decided(message));
      try {
        await decision.upstream.send(message, sendOptions);
      } catch (error) {
        if (message.method !== 'initialize' || !(error instanceof UpstreamError)) throw error;
        if (decision.noStreamableHttp !== undefined) {
          throw new UpstreamError(`${decision.noStreamableHttp}; nor is it an HTTP+SSE endpoint: ${error.message}`, {
            mayHaveRun: false,
            status: error.status,
            cause: error,
          });
        }
        if (decision.fallback !== undefined) {
          throw new UpstreamError(`${error.message} (before it, ${scrub(decision.fallback)})`, {
            mayHaveRun: error.mayHaveRun,
            status: error.status,
            cause: error,
          });
        }
        throw error;
      }
    },
    async end() {
      await chosen?.upstream.end();
    },
    async close() {
      closed = true;
      await chosen?.upstream.close();
    },
  };
}

function describeEra(era: string): string {
  switch (era) {
    case '2026-stateless':
      return '2026-07-28 (stateless)';
    case '2024-http-sse':
      return '2024-11-05 HTTP+SSE';
    case '2025-streamable-http':
      return '2025 Streamable HTTP (sessions)';
    default:
      return era;
  }
}
