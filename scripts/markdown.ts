// Reading the project's Markdown as the doc checks need it: which files are published docs, their
// fenced code blocks (with the marker comment before each), their links and their anchors.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Drafts other engineers leave for the lead to fold in: not published, so not checked. */
const UNPUBLISHED = 'docs/_incoming';

/** README.md and every Markdown file under docs/ (drafts excepted), as paths relative to `root`. */
export function publishedMarkdown(root: string): string[] {
  const found = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (path === UNPUBLISHED) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) found.push(path);
    }
  };
  walk('docs');
  return found.sort();
}

/** A fenced code block: its language tag, its text, where it starts, and the marker comment right before it. */
export interface CodeBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The info string's first word, lower case (`ts`, `json`, …); '' when none. */
  readonly lang: string;
  readonly code: string;
  /** The first word of an HTML comment on the last non-blank line before the fence (`<!-- run -->` → `run`). */
  readonly marker: string | undefined;
  /** `<!-- run expect-output="…" -->`: text the block's output must contain. */
  readonly expectOutput: string | undefined;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;
const MARKER = /^\s*<!--\s*([\w-]+)(?:\s+expect-output="([^"]*)")?\s*-->\s*$/;

/** Every fenced code block of a Markdown text. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  let lastNonBlank = '';
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const open = FENCE.exec(line);
    if (!open) {
      if (line.trim() !== '') lastNonBlank = line;
      continue;
    }
    const fence = open[2] ?? '```';
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence)) body.push(lines[end++] ?? '');
    const marker = MARKER.exec(lastNonBlank);
    blocks.push({
      file,
      line: index + 1,
      lang: (open[3] ?? '').toLowerCase(),
      code: `${body.join('\n')}\n`,
      marker: marker?.[1],
      expectOutput: marker?.[2],
    });
    index = end;
    lastNonBlank = '';
  }
  return blocks;
}

/** The text with fenced code blocks blanked out (line numbers kept), so links and headings in code are ignored. */
export function withoutCode(text: string): string {
  const lines = text.split('\n');
  let fence: string | undefined;
  return lines
    .map((line) => {
      const open = FENCE.exec(line);
      if (fence === undefined && open) {
        fence = open[2];
        return '';
      }
      if (fence !== undefined) {
        if (line.trim().startsWith(fence)) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** A link target written in a Markdown file. */
export interface Link {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Inline links and images (`[text](target)`), outside code. Inline code spans are skipped. */
export function links(file: string, text: string): Link[] {
  const found: Link[] = [];
  withoutCode(text)
    .split('\n')
    .forEach((line, index) => {
      const prose = line.replace(/`[^`]*`/g, '');
      for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        found.push({ file, line: index + 1, target: match[1] ?? '' });
      }
    });
  return found;
}

/**
 * The anchors GitHub gives a Markdown file: one per heading (lower case, punctuation dropped,
 * spaces to hyphens, `-1`, `-2`… for repeats), plus explicit `<a id="…">` / `<a name="…">`.
 */
export function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const prose = withoutCode(text);
  for (const line of prose.split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = headingSlug(heading[1] ?? '');
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      found.add(count === 0 ? slug : `${slug}-${count}`);
    }
  }
  for (const match of prose.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(match[1] ?? '');
  return found;
}

/** GitHub's slug of a heading's text. */
export function headingSlug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text only
    .replace(/<[^>]+>/g, '') // inline HTML
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The file's text, read from `root`. */
export function readMarkdown(root: string, file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

/** `path` as written relative to `root`, with forward slashes. */
export function repoPath(root: string, path: string): string {
  return relative(root, path).split('\\').join('/');
}
