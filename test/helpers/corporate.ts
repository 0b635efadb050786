// The pieces of a company network the proxy tests share: a forward proxy stopped after the test,
// an https:// MCP server whose certificate a test CA signs, and an environment without proxies.
import type { TestContext } from 'node:test';
import { startDialectServer } from '../../src/demo/dialect-server.js';
import { type ForwardProxy, startForwardProxy, startTlsFront } from '../fixtures/corporate-network.js';
import type { TestCa } from './test-ca.js';

/** None of the machine's own proxy settings leak into a test: each sets what it means. */
export const NO_PROXY_ENV = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '' };

/** A forward proxy (the npm `proxy` package) that counts what it carries, stopped after the test. */
export async function forwardProxy(t: TestContext, options: Parameters<typeof startForwardProxy>[0] = {}): Promise<ForwardProxy> {
  const proxy = await startForwardProxy(options);
  t.after(() => proxy.close());
  return proxy;
}

/** The dialect server behind an https:// front whose certificate `ca` signed: `https://127.0.0.1:PORT/mcp`. */
export async function httpsServer(t: TestContext, ca: TestCa) {
  const server = await startDialectServer();
  t.after(() => server.close());
  const front = await startTlsFront(server.port, ca.issue('mcp-server'));
  t.after(() => front.close());
  return { server, url: `${front.origin}/mcp`, host: new URL(front.origin).host };
}
