// One error root (issue 17): every error mcp-lifeline throws is a LifelineError with a stable
// code, and `isLifelineError()` types that code soundly, sign-in codes included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createOAuthSession, createOAuthStore, SignInError } from '../src/auth/index.js';
import { parseCommand } from '../src/cli/args.js';
import { GatewayConfigError, startGateway } from '../src/gateway/index.js';
import { isLifelineError, LifelineError, type LifelineErrorCode, ServerUnreachableError, SessionRecoveryError } from '../src/index.js';
import { createStreamableHttpUpstream } from '../src/upstream/streamable-http.js';
import { recordingSink } from './helpers/sink.js';

/** What a caller's exhaustive switch over every code does; it compiles only if the union names every family. */
function family(code: LifelineErrorCode): string {
  switch (code) {
    case 'REINITIALIZE_FAILED':
    case 'REPLAY_FAILED':
    case 'NOT_REPLAYABLE':
    case 'SESSION_LOST_AGAIN':
    case 'CIRCUIT_OPEN':
    case 'SERVER_UNREACHABLE':
      return 'recovery';
    case 'SIGN_IN_REQUIRED':
    case 'SIGN_IN_TIMEOUT':
    case 'SIGN_IN_PENDING':
    case 'AUTHORIZATION_DENIED':
    case 'STATE_MISMATCH':
    case 'ISSUER_MISMATCH':
    case 'SIGN_IN_FAILED':
    case 'STILL_UNAUTHORIZED':
    case 'LEASE_TIMEOUT':
    case 'CALLBACK_PORT_IN_USE':
    case 'INSECURE_ENDPOINT':
    case 'RESOURCE_MISMATCH':
    case 'DOCUMENT_TOO_LARGE':
    case 'STORE_INSECURE':
      return 'sign-in';
    case 'UPSTREAM_FAILED':
    case 'INVALID_BODY':
    case 'REDIRECT_NOT_FOLLOWED':
    case 'HANDSHAKE_FAILED':
    case 'INPUT_NOT_BRIDGED':
    case 'CERTIFICATE_NOT_ACCEPTED':
    case 'PROXY_FAILED':
      return 'transport';
    case 'INVALID_GATEWAY_CONFIG':
    case 'STORE_UNREACHABLE':
    case 'SHARED_RECOVERY_FAILED':
    case 'BODY_TOO_LARGE':
    case 'BODY_TIMEOUT':
    case 'ANSWER_TOO_LARGE':
    case 'TOKEN_TOO_LARGE':
    case 'MISSING_PACKAGE':
      return 'gateway';
    case 'USAGE':
    case 'PROBE_CONNECTION_FAILED':
      return 'cli';
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function caught(work: () => unknown): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('one error root', () => {
  it('a sign-in error is a LifelineError whose code the guard types soundly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-errors-'));
    try {
      const session = createOAuthSession({ serverUrl: 'http://127.0.0.1:9/mcp', store: createOAuthStore(dir) });
      const error = await caught(() => session.renew({ rejected: undefined, interactive: false }));
      assert.ok(error instanceof SignInError && error instanceof LifelineError, String(error));
      assert.ok(isLifelineError(error));
      assert.equal(error.code, 'SIGN_IN_REQUIRED');
      assert.equal(family(error.code), 'sign-in');
      assert.equal(error.name, 'SignInError');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an upstream, the gateway and the CLI throw LifelineErrors with their family codes', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;

    const upstream = createStreamableHttpUpstream({ url: new URL(url), headers: {}, fetch, timeoutMs: 2000, sink: recordingSink() });
    const transport = await caught(() =>
      upstream.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {} } }),
    );
    await upstream.close();
    assert.ok(isLifelineError(transport), String(transport));
    assert.deepEqual([transport.name, transport.code, family(transport.code)], ['UpstreamError', 'UPSTREAM_FAILED', 'transport']);

    const gateway = await caught(() => startGateway({ port: 0, upstreams: [] }));
    assert.ok(gateway instanceof GatewayConfigError && isLifelineError(gateway), String(gateway));
    assert.deepEqual([gateway.code, family(gateway.code)], ['INVALID_GATEWAY_CONFIG', 'gateway']);

    const usage = await caught(() => parseCommand(['--no-such-flag']));
    assert.ok(isLifelineError(usage), String(usage));
    assert.deepEqual([usage.name, usage.code, family(usage.code)], ['UsageError', 'USAGE', 'cli']);
  });

  it('a SessionRecoveryError keeps its name and its recovery codes', () => {
    const error = new SessionRecoveryError('CIRCUIT_OPEN', {
      request: { method: 'POST', url: 'http://127.0.0.1:9/mcp', rpcMethod: 'ping' },
      loss: { rule: 'spec-404', status: 404, serverMessage: '' },
    });
    assert.ok(isLifelineError(error));
    assert.deepEqual([error.name, error.code, family(error.code)], ['SessionRecoveryError', 'CIRCUIT_OPEN', 'recovery']);
  });

  it("the restart window's ServerUnreachableError is a LifelineError of the middleware's family", () => {
    const error = new ServerUnreachableError({
      request: { method: 'POST', url: 'http://127.0.0.1:9/mcp', rpcMethod: 'tools/call' },
      reason: 'connection refused',
      waitedMs: 1000,
      windowMs: 1000,
    });
    assert.ok(error instanceof LifelineError && isLifelineError(error));
    assert.deepEqual([error.name, error.code, family(error.code)], ['ServerUnreachableError', 'SERVER_UNREACHABLE', 'recovery']);
  });
});
