// Every link in README.md and docs/ that points into this repository resolves: the file (or
// folder) exists, and the #anchor is a heading of the target. Links to the repository's GitHub
// URL (README uses them, since docs/ is not in the npm tarball) are checked against the checkout.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { anchors, links, publishedMarkdown, readMarkdown } from './markdown.js';

/** A link that does not resolve, and why. */
export interface BrokenLink {
  readonly where: string;
  readonly target: string;
  readonly reason: string;
}

export interface LinkReport {
  readonly files: number;
  /** Links into the repository that were checked (external links are not fetched). */
  readonly checked: number;
  readonly broken: readonly BrokenLink[];
}

/** The repository's web address, from package.json `repository.url`. */
export function repositoryUrl(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { repository?: { url?: string } };
  const url = manifest.repository?.url;
  if (url === undefined) throw new Error('package.json has no repository.url');
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

/** Checks the links of every published Markdown file under `root`. */
export function checkLinks(root: string): LinkReport {
  const files = publishedMarkdown(root);
  const repo = repositoryUrl(root);
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    let found = anchorCache.get(file);
    if (found === undefined) {
      found = anchors(readMarkdown(root, file));
      anchorCache.set(file, found);
    }
    return found;
  };
  const broken: BrokenLink[] = [];
  let checked = 0;
  for (const file of files) {
    for (const link of links(file, readMarkdown(root, file))) {
      const local = localTarget(link.target, file, repo);
      if (local === undefined) continue;
      checked++;
      const where = `${link.file}:${link.line}`;
      const problem = resolveProblem(root, local, anchorsOf);
      if (problem !== undefined) broken.push({ where, target: link.target, reason: problem });
    }
  }
  return { files: files.length, checked, broken };
}

/** The repository path (and anchor) a link points at, or undefined for an external link. */
function localTarget(target: string, from: string, repo: string): { path: string; anchor: string | undefined } | undefined {
  let pathAndAnchor: string;
  if (target.startsWith(`${repo}/`)) {
    // https://github.com/OWNER/NAME/blob/main/docs/x.md#a → docs/x.md#a
    const rest = /^(?:blob|tree)\/[^/]+\/(.*)$/.exec(target.slice(repo.length + 1));
    if (!rest) return undefined; // the repository's issues, releases, …: pages of GitHub's, not files
    pathAndAnchor = rest[1] ?? '';
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    return undefined; // another site, mailto:, …
  } else if (target.startsWith('#')) {
    return { path: from, anchor: decodeURIComponent(target.slice(1)) };
  } else {
    pathAndAnchor = normalize(join(dirname(from), target))
      .split('\\')
      .join('/');
  }
  const hash = pathAndAnchor.indexOf('#');
  const path = decodeURIComponent(hash === -1 ? pathAndAnchor : pathAndAnchor.slice(0, hash));
  const anchor = hash === -1 ? undefined : decodeURIComponent(pathAndAnchor.slice(hash + 1));
  return { path: path.replace(/\/$/, ''), anchor };
}

function resolveProblem(
  root: string,
  target: { path: string; anchor: string | undefined },
  anchorsOf: (file: string) => Set<string>,
): string | undefined {
  if (target.path === '' || target.path.startsWith('..')) return 'points outside the repository';
  const full = join(root, target.path);
  if (!existsSync(full)) return `no such file: ${target.path}`;
  if (target.anchor === undefined || target.anchor === '') return undefined;
  if (statSync(full).isDirectory() || !target.path.endsWith('.md')) return `an anchor on a file that has no headings: ${target.path}`;
  return anchorsOf(target.path).has(target.anchor) ? undefined : `no heading #${target.anchor} in ${target.path}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const report = checkLinks(root);
  for (const link of report.broken) console.error(`${link.where}: ${link.target}: ${link.reason}`);
  console.log(`checked ${report.checked} links into the repository in ${report.files} Markdown files: ${report.broken.length} broken`);
  process.exitCode = report.broken.length === 0 ? 0 : 1;
}
