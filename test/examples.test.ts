// The README's snippets live in examples/ (type-checked) and run here against a server that
// loses the session, through the package's public entry point.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectComposed } from '../examples/compose.js';
import { connectV1 } from '../examples/sdk-v1.js';
import { connectV2 } from '../examples/sdk-v2.js';
import { startDialectServer } from '../src/demo/dialect-server.js';

describe('README examples recover a lost session', () => {
  const cases = [
    ['SDK v1', (url: string) => connectV1(url)],
    ['SDK v2', (url: string) => connectV2(url)],
    ['applyMiddlewares + withLogging', (url: string) => connectComposed(url, () => {})],
  ] as const;
  for (const [name, connect] of cases) {
    it(name, async (t) => {
      const server = await startDialectServer({ dialect: 'text-400' });
      t.after(() => server.close());
      const client = await connect(server.url);
      t.after(() => client.close());
      await client.callTool({ name: 'increment', arguments: {} });
      server.dropSessions();
      const result = await client.callTool({ name: 'increment', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: '2' }]);
      assert.equal(server.counters.initializations, 2);
    });
  }
});
