import type { ToolFilterOptions } from '../upstream/tool-filter.js';
import { parseToolPattern } from './values.js';

/** How the bridge's and serve's flags name the two lists in messages. */
const TOOL_FLAG_LABELS = { ignore: '--ignore-tool', allow: '--allow-tool' } as const;

/** `--ignore-tool PATTERN` and `--allow-tool PATTERN`, each repeatable. */
export const TOOL_FILTER_OPTIONS = {
  'ignore-tool': { type: 'string', multiple: true },
  'allow-tool': { type: 'string', multiple: true },
} as const;

export const TOOL_FILTER_HELP = `  --ignore-tool PATTERN      hide tools whose name matches PATTERN from the host (repeatable; * is any
                             run of characters, any case); a call to one is refused, never sent
  --allow-tool PATTERN       show only tools matching PATTERN (repeatable); --ignore-tool still applies`;

/**
 * The patterns of a tool filter, checked: each a non-empty string. `labels` name the lists in
 * errors and in the filter's own messages (the flags, or a config file's keys).
 */
export function toolFilterOf(
  lists: { readonly ignore?: readonly string[] | undefined; readonly allow?: readonly string[] | undefined },
  labels: { readonly ignore: string; readonly allow: string } = TOOL_FLAG_LABELS,
): ToolFilterOptions {
  const check = (patterns: readonly string[], label: string) => patterns.map((pattern) => parseToolPattern(label, pattern));
  return { ignore: check(lists.ignore ?? [], labels.ignore), allow: check(lists.allow ?? [], labels.allow), labels };
}
