import { type EraChoice, PROTOCOL_CHOICES, TRANSPORT_CHOICES } from '../upstream/negotiate.js';
import { UsageError } from './usage-error.js';
import { parseChoice, parsedOr } from './values.js';

/** The `--protocol` and `--transport` flags, for node:util parseArgs (merge into the options table). */
export const ERA_OPTIONS = {
  protocol: { type: 'string' },
  transport: { type: 'string' },
} as const;

/** Their lines in `--help`. */
export const ERA_HELP = `  --protocol auto|2025|2026  protocol era to speak to the server (default auto: one server/discover probe decides)
  --transport auto|http|sse  transport to the server (default auto: Streamable HTTP, else 2024-11-05 HTTP+SSE)`;

/** Reads `--protocol` and `--transport` (both default `auto`); throws UsageError on a bad value or pair. */
export function parseEraArgs(values: { readonly protocol?: string | undefined; readonly transport?: string | undefined }): EraChoice {
  const protocol = parsedOr(values.protocol, 'auto', (text) => parseChoice('--protocol', text, PROTOCOL_CHOICES));
  const transport = parsedOr(values.transport, 'auto', (text) => parseChoice('--transport', text, TRANSPORT_CHOICES));
  if (protocol === '2026' && transport === 'sse') {
    throw new UsageError('--protocol 2026 cannot be used with --transport sse: the 2026-07-28 revision has no HTTP+SSE transport');
  }
  return { protocol, transport };
}
