// The shape of src/, checked by `npm run lint` (depcruise): no import circles, and imports only
// ever run down the floors below. A folder may import its own files and any folder on a lower
// floor; never one on its own floor (siblings stay independent) or a higher one.
//
//   7  cli                         the command: parses, wires, prints
//   6  bridge, gateway, demo       the programs the CLI runs (Node only)
//   5  auth                        OAuth sign-in (it reads answers with upstream's bounded readers)
//   4  upstream                    era adapters behind the Upstream contract
//   3  recovery                    the middleware (withSessionRecovery)
//   2  classifier                  what an answer means
//   1  errors                      the error classes every floor throws
//   0  shared                      the toolkit (sleep, backoff, SSE, JSON-RPC) every floor uses
//
// Floors 0-3 are what the root entry (src/index.ts) exports: they stay runtime-neutral.
const FLOORS = [['shared'], ['errors'], ['classifier'], ['recovery'], ['upstream'], ['auth'], ['bridge', 'gateway', 'demo'], ['cli']];
const NEUTRAL_FLOORS = 4;
const NODE_BUILTINS = require('node:module').builtinModules.filter((name) => !name.startsWith('_'));
const OPTIONAL_PEERS = Object.entries(require('./package.json').peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta.optional)
  .map(([name]) => name);

const layering = FLOORS.flatMap((folders, floor) =>
  folders.map((folder) => {
    const notBelow = FLOORS.slice(floor).flat().filter((other) => other !== folder);
    return {
      name: `floor-${floor}-${folder}`,
      comment: `src/${folder}/ (floor ${floor}) may import only its own files and folders on lower floors, not ${notBelow.join(', ')}`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${notBelow.join('|')})/` },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: one of its modules has a part that belongs in a file of its own (a contract, a type).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...layering,
    {
      name: 'every-folder-on-a-floor',
      comment: 'A new folder under src/ goes on a floor in FLOORS (.dependency-cruiser.cjs) before it imports or is imported.',
      severity: 'error',
      from: { path: `^src/(?!(${FLOORS.flat().join('|')})/)[^/]+/` },
      to: { path: '^src/' },
    },
    {
      name: 'every-folder-on-a-floor-imported',
      comment: 'A new folder under src/ goes on a floor in FLOORS (.dependency-cruiser.cjs) before it imports or is imported.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: `^src/(?!(${FLOORS.flat().join('|')})/)[^/]+/` },
    },
    {
      name: 'entries-are-for-users',
      comment: 'src/index.ts, src/auth/index.ts and src/gateway/index.ts only re-export; code imports the module itself.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/(index|auth/index|gateway/index)\\.ts$' },
    },
    {
      name: 'root-entry-runs-anywhere',
      comment: 'The root entry runs on any runtime with fetch and streams: nothing it reaches imports Node built-ins or Node-only folders.',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: {
        reachable: true,
        path: [`^src/(${FLOORS.slice(NEUTRAL_FLOORS).flat().join('|')})/`, '^node:', `^(${NODE_BUILTINS.join('|').replaceAll('/', '\\/')})$`],
      },
    },
    {
      name: 'root-entry-needs-only-its-parser',
      comment:
        'What the root entry reaches needs no package but eventsource-parser: a program that wants the middleware installs nothing else it loads (issue 19). Node-only and serve-only packages belong behind ./oauth, ./gateway or the CLI.',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { reachable: true, path: '^node_modules/', pathNot: '^node_modules/eventsource-parser/' },
    },
    {
      name: 'optional-peers-load-when-used',
      comment:
        'An optional peer dependency (package.json peerDependenciesMeta) is not installed with the package: import it only with import(), through importOptional (src/errors/MissingPackageError.ts), so its absence is a clear error when a feature needs it and nothing otherwise.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: `^node_modules/(${OPTIONAL_PEERS.join('|')})/`, dynamic: false },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a circle of types is still a circle to the reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
