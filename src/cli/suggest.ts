// "Did you mean …?": the nearest of a few known words to what was typed.

/**
 * The known word nearest to `typed`, when it is near enough to be what was meant: at most two
 * edits (a letter added, dropped, changed, or two neighbours swapped), and fewer than half the
 * typed word's length, so that short unrelated words suggest nothing.
 */
export function nearest(typed: string, known: readonly string[]): string | undefined {
  const word = typed.toLowerCase();
  let best: { readonly word: string; readonly distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(word, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { word: candidate, distance };
  }
  if (best === undefined || best.distance === 0) return best?.word;
  return best.distance <= 2 && best.distance * 2 < word.length + 1 ? best.word : undefined;
}

/** Optimal string alignment distance: Levenshtein, plus a swap of two neighbouring letters as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = distance;
    }
  }
  return at(a.length, b.length);
}

/**
 * A `node:util` parseArgs error as a usage message: without its advice on `--` (never what was
 * meant), and with the nearest known option for an unknown one.
 */
export function parseArgsMessage(error: unknown, options: Readonly<Record<string, unknown>>): string {
  const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
  const unknown = /^Unknown option '(--?[^']+)'/.exec(message)?.[1];
  if (unknown === undefined || !unknown.startsWith('--')) return message;
  const option = nearest(unknown.slice(2).split('=')[0] ?? '', Object.keys(options));
  return option === undefined ? message : `${message}: did you mean --${option}?`;
}
