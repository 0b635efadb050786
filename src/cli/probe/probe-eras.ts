import type { EraVerdict } from '../../upstream/classify-discover-answer.js';
import { probeServerEra } from '../../upstream/discover-probe.js';
import type { ProbeTarget } from './probe-session.js';
import type { EraReport } from './report.js';

/** The `server/discover` probe `mcp-lifeline <url>` sends at start (one request, bounded). */
export function discoverEra(target: ProbeTarget, version: string): Promise<EraVerdict> {
  return probeServerEra({ ...target, hostInitialize: { capabilities: {}, clientInfo: { name: 'mcp-lifeline-probe', version } } });
}

/** The eras and transports section of the report. */
export function eraReport(
  modern: EraVerdict,
  streamable: { readonly speaks: boolean; readonly protocolVersion: string | undefined; readonly detail: string },
  sse: { readonly speaks: boolean | null; readonly detail: string },
): EraReport {
  const versions = modern.kind === 'modern' ? ((modern.discover.result['supportedVersions'] as string[] | undefined) ?? []) : [];
  const auto =
    modern.kind === 'modern'
      ? '2026-07-28 (stateless)'
      : streamable.speaks
        ? '2025 Streamable HTTP (sessions, recovered when lost)'
        : sse.speaks === true
          ? '2024-11-05 HTTP+SSE (sessions, recovered when lost)'
          : 'nothing: no era was recognised';
  return {
    modern: {
      speaks: modern.kind === 'modern',
      versions,
      detail: modern.kind === 'modern' ? modern.evidence : modern.kind === 'error' ? modern.message : modern.evidence,
    },
    streamableHttp: { speaks: streamable.speaks, protocolVersion: streamable.protocolVersion ?? null, detail: streamable.detail },
    httpSse: { speaks: sse.speaks, detail: sse.detail },
    auto,
  };
}
