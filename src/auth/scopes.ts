// Space-delimited OAuth scope strings (RFC 6749 §3.3).

/** The union of scope strings, each token once in first-seen order; undefined when all are empty. */
export function unionScopes(...scopes: readonly (string | undefined)[]): string | undefined {
  const tokens = new Set(scopes.flatMap((scope) => (scope ?? '').split(/\s+/).filter((token) => token !== '')));
  return tokens.size === 0 ? undefined : [...tokens].join(' ');
}

/** Whether `wanted` has a token that `held` lacks (an absent `held` holds nothing). */
export function widensScope(wanted: string | undefined, held: string | undefined): boolean {
  const have = new Set((held ?? '').split(/\s+/));
  return (wanted ?? '').split(/\s+/).some((token) => token !== '' && !have.has(token));
}
