/**
 * How servers put "your session is gone" into words. Each pattern needs both a session subject
 * ("session", "session ID", "Mcp-Session-Id") and a loss predicate ("not found", "expired", "no
 * valid …"), so an unrelated message that merely mentions a session ("invalid session name") does
 * not match.
 */

// "session", "session id", "session-id", "sessionId", "Mcp-Session-Id", "session identifier"
const SUBJECT = '(?:mcp[-_ ]?)?session(?:[-_ ]?id(?:entifier)?)?s?';

// Nouns that turn "session" into something other than the transport session ("session name").
const NOT_THE_TRANSPORT_SESSION = String.raw`(?!\s*(?:names?|titles?|types?|fields?|params?|parameters?|arguments?|configs?|options?|settings?|keys?|storage|store|cookies?|tokens?)\b)`;

// Filler allowed between subject and predicate: "Session ID header is", "session 'abc' has been".
// Each filler word is matched atomically (a lookahead capture, then a backreference: JavaScript has
// no atomic groups): with plain alternation, a long quoted text (a server echoing the request's
// headers) could be split among the alternatives in exponentially many ways, seconds per message.
const FILLER_WORD = String.raw`\s*(?:header|value|provided|specified|given|supplied|sent|is|was|has|have|been|already|either|or|\(.{0,40}?\)|['"\`][^'"\`\n]{1,120}['"\`]|[0-9a-f][0-9a-f-]{7,}|[\w.:-]*\d[\w.:-]*|:|-|,)`;
const FILLER = String.raw`(?:(?=(${FILLER_WORD}))\1){0,5}\s*`;

const PREDICATE = String.raw`(?:not\s+found|(?:lookup|resolution)\s+failed|unknown|invalid|expired|terminated|missing|required|closed|gone|stale|deleted|evicted|revoked|mismatch(?:ed)?|unrecogni[sz]ed|not\s+recogni[sz]ed|not\s+valid|(?:does|do)\s*(?:not|n't)\s+exist|not\s+exist|no\s+longer\s+(?:valid|exists?|active|available|known)|timed\s+out|not\s+(?:yet\s+)?initiali[sz]ed|not\s+active)`;

const LOSS_ADJECTIVE =
  '(?:no|invalid|unknown|missing|expired|stale|bad|unrecogni[sz]ed|non-?existent|terminated|closed|dead|absent|wrong|incorrect)';

/** Patterns, tested case-insensitively against the server's message text. */
export const SESSION_LOSS_WORDING: readonly RegExp[] = [
  // "Session not found", "Mcp-Session-Id header is required", "session 3f2a… has expired"
  new RegExp(String.raw`\b${SUBJECT}\b${NOT_THE_TRANSPORT_SESSION}${FILLER}\b${PREDICATE}\b`, 'i'),
  // "No valid session ID provided", "Invalid or missing session ID", "Unknown Mcp-Session-Id"
  new RegExp(
    String.raw`\b${LOSS_ADJECTIVE}\s+(?:(?:valid|such|active|live|or\s+\w+|and\s+\w+|or\s+\w+\s+\w+)\s+)?${SUBJECT}\b${NOT_THE_TRANSPORT_SESSION}`,
    'i',
  ),
  // "Could not find session abc", "Not Found: session abc123"
  new RegExp(
    String.raw`\b(?:(?:could\s*not|couldn't|cannot|can't|unable\s+to|failed\s+to)\s+(?:find|locate|load|resolve)|not\s+found:?)\s+(?:the\s+|your\s+)?${SUBJECT}\b${NOT_THE_TRANSPORT_SESSION}`,
    'i',
  ),
  // A stateful server whose single transport restarted: "Bad Request: Server not initialized"
  /\bserver\s+(?:is\s+)?not\s+(?:yet\s+)?initiali[sz]ed\b/i,
  // What the server kept per session is gone: "No transport found for sessionId" (the SDK's SSE and
  // Express examples), "no connection for session abc", "No active stream exists for this session"
  new RegExp(
    String.raw`\bno\s+(?:active\s+|open\s+)?(?:transports?|connections?|streams?|handlers?|contexts?|state)\s+(?:(?:was\s+|is\s+)?(?:found|exists?|available|registered)\s+)?for\s+(?:the\s+|this\s+|that\s+|given\s+|provided\s+)*${SUBJECT}\b${NOT_THE_TRANSPORT_SESSION}`,
    'i',
  ),
];

/** True when `text` says, in any known wording, that the session is lost. */
export function hasSessionLossWording(text: string): boolean {
  // Error codes in snake case say it too: "session_not_found", "INVALID_SESSION_ID", "SESSION_EXPIRED".
  const words = text.includes('_') ? text.replaceAll('_', ' ') : text;
  return SESSION_LOSS_WORDING.some((pattern) => pattern.test(words));
}
