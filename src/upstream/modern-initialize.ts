import { META } from './modern-request.js';

/** The 2025-era revisions a host may ask for, newest first. */
const LEGACY_PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];

/**
 * The `initialize` answer a 2025 host gets from a 2026-07-28 server's DiscoverResult: the
 * host's own revision when it is a 2025-era one (the bridge speaks it), the server's identity,
 * capabilities and instructions. Capabilities a 2025 host cannot use are left out: `extensions`
 * (negotiated per request in 2026-07-28, unknown before).
 */
export function initializeResultFrom(discover: Record<string, unknown>, hostVersion: string | undefined): Record<string, unknown> {
  const protocolVersion =
    hostVersion !== undefined && LEGACY_PROTOCOL_VERSIONS.includes(hostVersion) ? hostVersion : LEGACY_PROTOCOL_VERSIONS[0];
  const { extensions: _extensions, ...capabilities } = (discover['capabilities'] ?? {}) as Record<string, unknown>;
  const serverInfo = (discover['_meta'] as Record<string, unknown> | undefined)?.[META.serverInfo] ?? {
    name: 'unknown',
    version: 'unknown',
  };
  const instructions = discover['instructions'];
  return {
    protocolVersion,
    capabilities,
    serverInfo,
    ...(typeof instructions === 'string' ? { instructions } : {}),
  };
}
