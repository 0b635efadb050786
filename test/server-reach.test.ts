// The restart window's parts without HTTP: a server's reachability as a table of phase × event →
// phase (server-reach.ts), its single-flight turns, and which fetch failures prove a request was
// never delivered (undelivered.ts). The black-box tests with real processes are in redeploy.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ReachPhase, ServerReach } from '../src/recovery/server-reach.js';
import { undeliveredCause } from '../src/recovery/undelivered.js';

const REFUSED = 'connection refused (ECONNREFUSED)';

/** The phases a server can be in, each reached through transitions only. */
const PHASES = {
  unseen: () => new ServerReach(),
  up: () => {
    const reach = new ServerReach();
    reach.answered(1_000);
    return reach;
  },
  down: () => {
    const reach = new ServerReach();
    reach.answered(1_000);
    reach.undelivered(2_000, REFUSED, false);
    return reach;
  },
} as const;
type PhaseName = keyof typeof PHASES;

const EVENTS = {
  answered: (reach: ServerReach) => reach.answered(5_000),
  'undelivered, its turn': (reach: ServerReach) => reach.undelivered(3_000, 'host name not found (ENOTFOUND)', true),
  'undelivered, sent before the outage was known': (reach: ServerReach) =>
    reach.undelivered(3_000, 'host name not found (ENOTFOUND)', false),
  'turn returned': (reach: ServerReach) => reach.turnReturned(),
} as const;
type EventName = keyof typeof EVENTS;

type Row = { readonly phase: ReachPhase; readonly returns: unknown };
const up: ReachPhase = { kind: 'up' };
const unseen: ReachPhase = { kind: 'unseen' };
const down = (tries: number, cause: string): ReachPhase => ({ kind: 'down', since: 2_000, tries, cause });

// Each row: where the server was, what happened, where it is now and what the transition returned.
const TABLE: Record<PhaseName, Record<EventName, Row>> = {
  unseen: {
    answered: { phase: up, returns: undefined },
    // A server never seen up: a wrong URL, not a restart; the request fails at once.
    'undelivered, its turn': { phase: unseen, returns: false },
    'undelivered, sent before the outage was known': { phase: unseen, returns: false },
    'turn returned': { phase: unseen, returns: undefined },
  },
  up: {
    answered: { phase: up, returns: undefined },
    'undelivered, its turn': { phase: { kind: 'down', since: 3_000, tries: 1, cause: 'host name not found (ENOTFOUND)' }, returns: true },
    'undelivered, sent before the outage was known': {
      phase: { kind: 'down', since: 3_000, tries: 1, cause: 'host name not found (ENOTFOUND)' },
      returns: true,
    },
    'turn returned': { phase: up, returns: undefined },
  },
  down: {
    answered: { phase: up, returns: { downMs: 3_000, tries: 1 } },
    'undelivered, its turn': { phase: down(2, 'host name not found (ENOTFOUND)'), returns: false },
    'undelivered, sent before the outage was known': { phase: down(1, 'host name not found (ENOTFOUND)'), returns: false },
    'turn returned': { phase: down(1, REFUSED), returns: undefined },
  },
};

describe('server reach: phase × event → phase', () => {
  for (const [phaseName, row] of Object.entries(TABLE) as [PhaseName, Record<EventName, Row>][]) {
    for (const [eventName, expected] of Object.entries(row) as [EventName, Row][]) {
      it(`${phaseName} × ${eventName} → ${expected.phase.kind}`, () => {
        const reach = PHASES[phaseName]();
        const returned = EVENTS[eventName](reach);
        assert.deepEqual(reach.phase, expected.phase);
        assert.deepEqual(returned, expected.returns);
      });
    }
  }
});

describe('server reach: single-flight turns while the server is down', () => {
  it('one request holds the turn; the others wait, and all go at once when the server answers', async () => {
    const reach = PHASES.down();
    const deadline = Date.now() + 5_000;
    // The first try waits for the backoff (250 ms at most), then holds the turn.
    const first = await reach.wait(deadline, undefined);
    assert.equal(first, 'go');
    let settled = 0;
    const others = [reach.wait(deadline, undefined), reach.wait(deadline, undefined)].map((wait) =>
      wait.then((outcome) => {
        settled += 1;
        return outcome;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(settled, 0, 'nobody else tries while one request holds the turn');
    const now = Date.now();
    assert.deepEqual(reach.answered(now), { downMs: now - 2_000, tries: 1 });
    assert.deepEqual(await Promise.all(others), ['go', 'go']);
  });

  it('a failed try hands the turn to the next waiter after the backoff; a returned turn at once', async () => {
    const reach = PHASES.down();
    const deadline = Date.now() + 5_000;
    assert.equal(await reach.wait(deadline, undefined), 'go');
    const next = reach.wait(deadline, undefined);
    const started = Date.now();
    reach.undelivered(Date.now(), REFUSED, true);
    assert.equal(await next, 'go');
    const waited = Date.now() - started;
    assert.ok(waited >= 300 && waited < 3_000, `the second try came ${waited} ms later (backoff 500 ms, 20% jitter)`);
    assert.equal(reach.phase.kind === 'down' && reach.phase.tries, 2);
    const third = reach.wait(deadline, undefined);
    const returned = Date.now();
    reach.turnReturned();
    assert.equal(await third, 'go');
    assert.ok(Date.now() - returned < 750, 'a returned turn passes at once (another backoff would be 800 ms or more)');
  });

  it('a wait ends at its deadline (expired) or with its signal (rejected), and leaves the queue', async () => {
    const reach = PHASES.down();
    assert.equal(await reach.wait(Date.now() + 5_000, undefined), 'go');
    assert.equal(await reach.wait(Date.now() + 50, undefined), 'expired');
    const controller = new AbortController();
    const aborted = reach.wait(Date.now() + 5_000, controller.signal);
    controller.abort(new Error('the client gave up'));
    await assert.rejects(aborted, /the client gave up/);
    reach.turnReturned();
    assert.equal(await reach.wait(Date.now() + 5_000, undefined), 'go', 'nobody left in the queue holds it up');
  });

  it('no wait when the server is not down', async () => {
    assert.equal(await PHASES.up().wait(Date.now(), undefined), 'go');
    assert.equal(await PHASES.unseen().wait(Date.now(), undefined), 'go');
  });
});

/** A fetch failure as Node's fetch (undici) reports it: TypeError('fetch failed') with the system error as cause. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}
const systemError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), { code, ...extra });

describe('undelivered: which failures prove the request never reached the server', () => {
  const cases: [string, unknown, boolean, string | undefined][] = [
    ['connection refused', fetchFailed(systemError('ECONNREFUSED', { syscall: 'connect' })), true, 'ECONNREFUSED'],
    [
      'every address refused (happy eyeballs)',
      fetchFailed(Object.assign(new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')]), { code: 'ECONNREFUSED' })),
      true,
      'ECONNREFUSED',
    ],
    ['connect timed out', fetchFailed(systemError('UND_ERR_CONNECT_TIMEOUT')), true, 'UND_ERR_CONNECT_TIMEOUT'],
    ['host unreachable while connecting', fetchFailed(systemError('EHOSTUNREACH', { syscall: 'connect' })), true, 'EHOSTUNREACH'],
    [
      'socket closed before any byte was written',
      fetchFailed(systemError('UND_ERR_SOCKET', { socket: { bytesWritten: 0, bytesRead: 0 } })),
      true,
      'UND_ERR_SOCKET',
    ],
    [
      'socket closed after the request was written',
      fetchFailed(systemError('UND_ERR_SOCKET', { socket: { bytesWritten: 412, bytesRead: 0 } })),
      true,
      undefined,
    ],
    [
      'a reset without socket details (it may have been written)',
      fetchFailed(systemError('ECONNRESET', { syscall: 'read' })),
      true,
      undefined,
    ],
    ['DNS failure for a name that resolved before', fetchFailed(systemError('ENOTFOUND', { syscall: 'getaddrinfo' })), true, 'ENOTFOUND'],
    ['DNS failure for a name never resolved', fetchFailed(systemError('ENOTFOUND', { syscall: 'getaddrinfo' })), false, undefined],
    ['EAI_AGAIN for a name that resolved before', fetchFailed(systemError('EAI_AGAIN')), true, 'EAI_AGAIN'],
    ['a timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), true, undefined],
    ['an abort', new DOMException('This operation was aborted', 'AbortError'), true, undefined],
    ['a sign-in error', Object.assign(new Error('sign-in required'), { code: 'SIGN_IN_REQUIRED' }), true, undefined],
    ['a headers timeout (the server took the request)', fetchFailed(systemError('UND_ERR_HEADERS_TIMEOUT')), true, undefined],
    ['an error without a code', new Error('boom'), true, undefined],
  ];
  for (const [name, error, resolvedBefore, expected] of cases) {
    it(`${name} → ${expected ?? 'may have been delivered'}`, () => {
      assert.equal(undeliveredCause(error, resolvedBefore), expected);
    });
  }
});
