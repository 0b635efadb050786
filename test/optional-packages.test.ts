// Packages only `serve` needs are optional peer dependencies (issue 19): a plain install leaves
// them out, and the feature that needs one says which package and how to bring it. The packed
// tarball is checked end to end without them by scripts/check-package.sh; here, the mapping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifelineError } from '../src/errors/LifelineError.js';
import { importOptional, MissingPackageError } from '../src/errors/MissingPackageError.js';
import { createRedisStore } from '../src/gateway/redis-store.js';

describe('optional packages', () => {
  it('a package that is not installed: a MissingPackageError naming it, the feature and the npx line', async () => {
    const name = '@mcp-lifeline/not-installed';
    const error = await importOptional(name, 'The frobnicator', () => import(name)).then(
      () => assert.fail('it loaded'),
      (error: unknown) => error,
    );
    assert.ok(error instanceof MissingPackageError);
    assert.ok(isLifelineError(error));
    assert.equal(error.code, 'MISSING_PACKAGE');
    assert.equal(error.packageName, name);
    assert.equal(
      error.message,
      `The frobnicator needs the package ${name}, which is not installed (mcp-lifeline leaves it out unless asked): ` +
        `npm install ${name}; with npx: npx -p mcp-lifeline -p ${name} mcp-lifeline …`,
    );
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ERR_MODULE_NOT_FOUND');
  });

  it('an installed package that fails to load (a dependency of its own missing) is not mistaken for it', async () => {
    const broken = Object.assign(
      new Error("Cannot find package 'cluster-key-slot' imported from /x/node_modules/@redis/client/dist/index.js"),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    await assert.rejects(
      importOptional('@redis/client', 'The Redis session store', () => Promise.reject(broken)),
      (error) => error === broken,
    );
  });

  it('the Redis store loads @redis/client when it is there', async () => {
    // Nothing listens on port 9: the store is made anyway (it connects in the background, bounded).
    const store = await createRedisStore({ url: 'redis://127.0.0.1:9', idleTtlMs: 1000, commandTimeoutMs: 200 });
    await store.close();
  });
});
