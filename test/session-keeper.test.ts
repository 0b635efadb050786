// The session keeper's transitions as a table: phase × event → phase, and the effects each has
// (what the shared store, the keep-alive and the circuit are told). No HTTP: the keeper is plain
// state; the black-box tests (recovery, suspicion, keep-alive, session-sharing) cover it in use.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SessionLossReport } from '../src/errors/SessionRecoveryError.js';
import { createCircuit } from '../src/recovery/circuit.js';
import type { KeepAlive } from '../src/recovery/keep-alive.js';
import { toOutgoingRequest } from '../src/recovery/outgoing-request.js';
import { keepSession, type SessionKeeper } from '../src/recovery/session-keeper.js';
import type { SessionSharing } from '../src/recovery/session-sharing.js';
import { createStreamBackoff } from '../src/recovery/stream-backoff.js';

const URL_ = 'http://127.0.0.1:9/mcp';
const ALIAS = 'alias-0123456789abcdef';
const FIRST_LOSS: SessionLossReport = { rule: 'spec-404', status: 404, serverMessage: 'Session not found' };
const SECOND_LOSS: SessionLossReport = { rule: 'jsonrpc-400', status: 400, serverMessage: 'No valid session ID' };
const FAILURE = new Error('initialize was answered with HTTP 503');
const NEW_SESSION = { sessionId: 'server-new-0123456789', protocolVersion: '2025-06-18' };
const SHARED_STATE = {
  initializeParams: {},
  serverId: 'server-other-0123456789',
  protocolVersion: '2025-03-26',
  logLevel: 'debug',
  subscriptions: ['file:///a'],
};
const never = () => new Promise<void>(() => {});

/** A keeper with its effects written down: the shared store's `changed`, the keep-alive's calls. */
function setUp(options: { keepAlive?: boolean; circuitFailures?: number } = {}) {
  const effects: string[] = [];
  const sharing: SessionSharing = {
    load: async () => undefined,
    recover: () => Promise.reject(new Error('not used')),
    changed: (alias, change) => effects.push(`changed ${alias} ${JSON.stringify(change)}`),
    ended: (alias) => effects.push(`ended ${alias}`),
  };
  const keepAlive: KeepAlive = {
    learned: (idleMs) => effects.push(`learned ${idleMs}`),
    stop: () => effects.push('stop'),
    resume: () => effects.push('resume'),
    intervalMs: undefined,
  };
  const keeper = keepSession({
    alias: ALIAS,
    endpoint: URL_,
    initializeParams: { protocolVersion: '2025-06-18' },
    circuit: createCircuit({ failures: options.circuitFailures ?? 2, initialDelayMs: 1_000, maxDelayMs: 8_000 }),
    stream: createStreamBackoff({ initialDelayMs: 1_000, maxDelayMs: 8_000 }),
    sharing,
    keepAlive: options.keepAlive === true ? () => keepAlive : undefined,
  });
  return { keeper, effects };
}

function post(message: unknown, init: RequestInit = {}) {
  return toOutgoingRequest(URL_, { method: 'POST', body: JSON.stringify(message), ...init });
}
const TOOL_CALL = post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } });

/** The phases a session can be in, each reached through transitions only. */
const PHASES = {
  'live, proven': () => setUp(),
  'live, unproven (a recovery just opened it)': () => {
    const set = setUp();
    void set.keeper.recoveryStarted(FIRST_LOSS, () => Promise.resolve());
    set.keeper.replaced(NEW_SESSION);
    return set;
  },
  recovering: () => {
    const set = setUp();
    void set.keeper.recoveryStarted(FIRST_LOSS, never);
    return set;
  },
  'dead (lost)': () => {
    const set = setUp();
    set.keeper.lostAt(0, FIRST_LOSS);
    return set;
  },
  'dead (recovery failed)': () => {
    const set = setUp();
    void set.keeper.recoveryStarted(FIRST_LOSS, () => Promise.resolve());
    set.keeper.recoveryFailed(FAILURE);
    return set;
  },
} as const;
type PhaseName = keyof typeof PHASES;

/** What the table compares: the phase, with what it carries, and the session it points at. */
function snapshot(keeper: SessionKeeper) {
  const { phase } = keeper;
  const base = { attempts: keeper.attempts, serverId: keeper.serverId };
  if (phase.kind === 'live') return { kind: phase.kind, proven: phase.proven, ...base };
  if (phase.kind === 'recovering') return { kind: phase.kind, loss: phase.loss.rule, ...base };
  return { kind: phase.kind, loss: phase.loss?.rule, failure: phase.failure === undefined ? undefined : 'failure', ...base };
}

const EVENTS = {
  answered: (keeper: SessionKeeper) => keeper.answered(TOOL_CALL),
  'lost at the current attempt': (keeper: SessionKeeper) => keeper.lostAt(keeper.attempts, SECOND_LOSS),
  'lost at an earlier attempt': (keeper: SessionKeeper) => keeper.lostAt(keeper.attempts - 1, SECOND_LOSS),
  'recovery started': (keeper: SessionKeeper) => keeper.recoveryStarted(SECOND_LOSS, never),
  'recovery joined': (keeper: SessionKeeper) => keeper.recoveryJoined(SECOND_LOSS),
  replaced: (keeper: SessionKeeper) => keeper.replaced(NEW_SESSION),
  adopted: (keeper: SessionKeeper) => keeper.adopted(SHARED_STATE),
  'recovery failed': (keeper: SessionKeeper) => keeper.recoveryFailed(FAILURE),
  'circuit refused': (keeper: SessionKeeper) => keeper.circuitRefused(SECOND_LOSS),
} as const;
type EventName = keyof typeof EVENTS;

type Snapshot = ReturnType<typeof snapshot>;
const live = (proven: boolean, attempts: number, serverId: string | undefined): Snapshot => ({ kind: 'live', proven, attempts, serverId });
const recovering = (loss: string, attempts: number, serverId: string | undefined): Snapshot => ({
  kind: 'recovering',
  loss,
  attempts,
  serverId,
});
const dead = (loss: string | undefined, failure: boolean, attempts: number, serverId: string | undefined): Snapshot => ({
  kind: 'dead',
  loss,
  failure: failure ? 'failure' : undefined,
  attempts,
  serverId,
});
const NEW = NEW_SESSION.sessionId;
const OTHER = SHARED_STATE.serverId;
/** An event a phase never meets: the keeper refuses it as an internal error. */
const REFUSED = 'refused';

// Each row: where the session was, what happened, where it is now.
const TABLE: Record<PhaseName, Record<EventName, Snapshot | typeof REFUSED>> = {
  'live, proven': {
    answered: live(true, 0, ALIAS),
    'lost at the current attempt': dead('jsonrpc-400', false, 0, ALIAS),
    'lost at an earlier attempt': live(true, 0, ALIAS),
    'recovery started': recovering('jsonrpc-400', 1, ALIAS),
    'recovery joined': REFUSED,
    replaced: live(true, 0, ALIAS),
    adopted: live(true, 0, ALIAS),
    'recovery failed': live(true, 0, ALIAS),
    'circuit refused': dead('jsonrpc-400', false, 0, ALIAS),
  },
  'live, unproven (a recovery just opened it)': {
    answered: live(true, 1, NEW),
    'lost at the current attempt': dead('jsonrpc-400', false, 1, NEW),
    'lost at an earlier attempt': live(false, 1, NEW),
    'recovery started': recovering('jsonrpc-400', 2, NEW),
    'recovery joined': REFUSED,
    replaced: live(false, 1, NEW),
    adopted: live(false, 1, NEW),
    'recovery failed': live(false, 1, NEW),
    'circuit refused': dead('jsonrpc-400', false, 1, NEW),
  },
  recovering: {
    answered: recovering('spec-404', 1, ALIAS),
    'lost at the current attempt': recovering('spec-404', 1, ALIAS),
    'lost at an earlier attempt': recovering('spec-404', 1, ALIAS),
    'recovery started': REFUSED,
    'recovery joined': recovering('jsonrpc-400', 1, ALIAS),
    replaced: live(false, 1, NEW),
    adopted: live(false, 1, OTHER),
    'recovery failed': dead('spec-404', true, 1, ALIAS),
    'circuit refused': recovering('spec-404', 1, ALIAS),
  },
  'dead (lost)': {
    answered: dead('spec-404', false, 0, ALIAS),
    'lost at the current attempt': dead('jsonrpc-400', false, 0, ALIAS),
    'lost at an earlier attempt': dead('spec-404', false, 0, ALIAS),
    'recovery started': recovering('jsonrpc-400', 1, ALIAS),
    'recovery joined': REFUSED,
    replaced: dead('spec-404', false, 0, ALIAS),
    adopted: dead('spec-404', false, 0, ALIAS),
    'recovery failed': dead('spec-404', false, 0, ALIAS),
    'circuit refused': dead('jsonrpc-400', false, 0, ALIAS),
  },
  'dead (recovery failed)': {
    answered: dead('spec-404', true, 1, ALIAS),
    'lost at the current attempt': dead('jsonrpc-400', true, 1, ALIAS),
    'lost at an earlier attempt': dead('spec-404', true, 1, ALIAS),
    'recovery started': recovering('jsonrpc-400', 2, ALIAS),
    'recovery joined': REFUSED,
    replaced: dead('spec-404', true, 1, ALIAS),
    adopted: dead('spec-404', true, 1, ALIAS),
    'recovery failed': dead('spec-404', true, 1, ALIAS),
    'circuit refused': dead('jsonrpc-400', true, 1, ALIAS),
  },
};

describe('session keeper: phase × event → phase', () => {
  for (const [phaseName, row] of Object.entries(TABLE) as [PhaseName, Record<EventName, Snapshot | typeof REFUSED>][]) {
    for (const [eventName, expected] of Object.entries(row) as [EventName, Snapshot | typeof REFUSED][]) {
      it(`${phaseName} × ${eventName} → ${expected === REFUSED ? 'refused' : expected.kind}`, () => {
        const { keeper } = PHASES[phaseName]();
        const before = snapshot(keeper);
        if (expected === REFUSED) {
          assert.throws(() => EVENTS[eventName](keeper), /internal error/);
          assert.deepEqual(snapshot(keeper), before, 'a refused event changes nothing');
          return;
        }
        EVENTS[eventName](keeper);
        assert.deepEqual(snapshot(keeper), expected);
      });
    }
  }
});

// Which credentials a session counts as accepted: a 401 to those speaks of the session, not of the
// sign-in (the classifier's challenged-401). Each row: a transition, then whose credentials count.
const FIRST = new Headers({ authorization: 'Bearer first-0123456789' });
const SECOND = new Headers({ authorization: 'Bearer second-0123456789', 'x-trace': 'not a credential' });
const RECOVERY = new Headers({ authorization: 'Bearer recovery-0123456789' });
const CREDENTIALS: [string, (keeper: SessionKeeper) => void, 'first' | 'second' | 'recovery' | 'none'][] = [
  ['opened: the initialize’s credentials', () => {}, 'first'],
  [
    'answered with other credentials: those',
    (keeper) => keeper.answered(post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: SECOND })),
    'second',
  ],
  ['lost: unchanged', (keeper) => keeper.lostAt(keeper.attempts, FIRST_LOSS), 'first'],
  [
    'replaced by a recovery: the credentials the new session’s initialize carried',
    (keeper) => {
      void keeper.recoveryStarted(FIRST_LOSS, never);
      keeper.replaced(NEW_SESSION, RECOVERY);
    },
    'recovery',
  ],
  [
    'adopted from another process: none known',
    (keeper) => {
      void keeper.recoveryStarted(FIRST_LOSS, never);
      keeper.adopted(SHARED_STATE);
    },
    'none',
  ],
  [
    'recovery failed: unchanged',
    (keeper) => {
      void keeper.recoveryStarted(FIRST_LOSS, never);
      keeper.recoveryFailed(FAILURE);
    },
    'first',
  ],
];

/** A keeper opened by an initialize that carried `headerSource`. */
function openedWith(headerSource: Record<string, string>): SessionKeeper {
  return keepSession({
    alias: ALIAS,
    endpoint: URL_,
    initializeParams: {},
    circuit: createCircuit({ failures: 2, initialDelayMs: 1_000, maxDelayMs: 8_000 }),
    stream: createStreamBackoff({ initialDelayMs: 1_000, maxDelayMs: 8_000 }),
    headerSource,
  });
}

describe('session keeper: the credentials a session accepted', () => {
  for (const [name, transition, expected] of CREDENTIALS) {
    it(name, () => {
      const keeper = openedWith({ Authorization: 'Bearer first-0123456789' });
      transition(keeper);
      const accepted = (['first', 'second', 'recovery'] as const).filter((which) =>
        keeper.credentialsAccepted({ first: FIRST, second: SECOND, recovery: RECOVERY }[which]),
      );
      assert.deepEqual(accepted, expected === 'none' ? [] : [expected]);
    });
  }

  it('a header that carries no credential does not make credentials differ; an API key does', () => {
    const keeper = openedWith({ 'x-api-key': 'key-one-0123456789', accept: 'application/json' });
    assert.equal(keeper.credentialsAccepted(new Headers({ 'X-Api-Key': 'key-one-0123456789', traceparent: '00-abc' })), true);
    assert.equal(keeper.credentialsAccepted(new Headers({ 'x-api-key': 'key-two-0123456789' })), false);
  });
});

describe('session keeper: effects of its transitions', () => {
  it('a recovery shares one flight with every request that joins it, and the flight is the one started', async () => {
    const { keeper } = setUp();
    let release = () => {};
    const flight = keeper.recoveryStarted(FIRST_LOSS, () => new Promise<void>((resolve) => (release = resolve)));
    assert.equal(keeper.recoveryJoined(SECOND_LOSS), flight);
    const { phase } = keeper;
    assert.equal(phase.kind === 'recovering' && phase.flight, flight);
    keeper.replaced(NEW_SESSION);
    release();
    await flight;
    assert.equal(keeper.protocolVersion, '2025-06-18');
  });

  it('a failed flight nobody waits for rejects no further (no unhandled rejection)', async () => {
    const { keeper } = setUp();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void keeper.recoveryStarted(FIRST_LOSS, () => Promise.reject(FAILURE));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('answered: the state a request changed is recorded and shared; other requests change nothing', () => {
    const { keeper, effects } = setUp();
    keeper.answered(TOOL_CALL);
    keeper.answered(post({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'debug' } }));
    keeper.answered(
      post([
        { jsonrpc: '2.0', id: 3, method: 'resources/subscribe', params: { uri: 'file:///a' } },
        { jsonrpc: '2.0', id: 4, method: 'resources/subscribe', params: { uri: 'file:///b' } },
      ]),
    );
    keeper.answered(post({ jsonrpc: '2.0', id: 5, method: 'resources/unsubscribe', params: { uri: 'file:///a' } }));
    assert.equal(keeper.logLevel, 'debug');
    assert.deepEqual([...keeper.subscriptions], ['file:///b']);
    assert.deepEqual(effects, [
      `changed ${ALIAS} {"kind":"log-level","level":"debug"}`,
      `changed ${ALIAS} {"kind":"subscribe","uri":"file:///a"}`,
      `changed ${ALIAS} {"kind":"subscribe","uri":"file:///b"}`,
      `changed ${ALIAS} {"kind":"unsubscribe","uri":"file:///a"}`,
    ]);
  });

  it('adopted: the other process’s session and state replace this one’s', () => {
    const { keeper } = setUp();
    keeper.answered(post({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'file:///mine' } }));
    void keeper.recoveryStarted(FIRST_LOSS, never);
    keeper.adopted(SHARED_STATE);
    assert.equal(keeper.serverId, SHARED_STATE.serverId);
    assert.equal(keeper.protocolVersion, SHARED_STATE.protocolVersion);
    assert.equal(keeper.logLevel, 'debug');
    assert.deepEqual([...keeper.subscriptions], ['file:///a']);
  });

  it('a session from the shared store without a server session starts dead; with one, live on it', () => {
    const stream = createStreamBackoff({ initialDelayMs: 1, maxDelayMs: 1 });
    const circuit = createCircuit({ failures: 1, initialDelayMs: 1, maxDelayMs: 1 });
    const start = { alias: ALIAS, endpoint: URL_, initializeParams: {}, circuit, stream };
    const without = keepSession({ ...start, shared: { ...SHARED_STATE, serverId: undefined } });
    assert.deepEqual(snapshot(without), dead(undefined, false, 0, undefined));
    const withSession = keepSession({ ...start, shared: SHARED_STATE });
    assert.deepEqual(snapshot(withSession), live(true, 0, OTHER));
    assert.deepEqual([...withSession.subscriptions], ['file:///a']);
  });

  it('circuit: opens after the set number of failures, refuses until its time, and the next answer closes it', () => {
    const { keeper } = setUp({ circuitFailures: 2 });
    assert.equal(keeper.circuitFailed('first', 1_000), undefined, 'one failure does not open it');
    assert.deepEqual(keeper.circuitFailed('second', 2_000), { retryAt: 3_000, failures: 2 });
    assert.deepEqual(keeper.circuit.blocked(2_500), { retryAt: 3_000, cause: 'second' });
    assert.equal(keeper.circuit.blocked(3_000), undefined, 'one recovery may try once the time is past');
    assert.equal(keeper.answered(TOOL_CALL), true, 'the answer that closes an open circuit says so');
    assert.equal(keeper.circuit.failures, 0);
    assert.equal(keeper.answered(TOOL_CALL), false);
    keeper.circuitFailed('once', 4_000);
    assert.equal(keeper.serverAnswered(), false, 'a circuit that was not open closes without a report');
    assert.equal(keeper.circuit.failures, 0);
  });

  it('stream: the Last-Event-ID is stale once after each replacement, on the first GET only', () => {
    const { keeper } = setUp();
    assert.equal(keeper.streamRequested(), false);
    void keeper.recoveryStarted(FIRST_LOSS, never);
    keeper.replaced(NEW_SESSION);
    assert.equal(keeper.streamRequested(), true);
    assert.equal(keeper.streamRequested(), false);
  });

  it('stream: failures back off, a working stream clears it; a 404 GET on a live session marks streams unsupported', () => {
    const { keeper } = setUp();
    assert.equal(keeper.streamHeld(undefined), undefined);
    assert.deepEqual(keeper.streamFailed(Date.now()), { failures: 1, delayMs: 1_000, report: false });
    assert.deepEqual(keeper.streamFailed(Date.now()), { failures: 2, delayMs: 2_000, report: true });
    keeper.streamWorked();
    assert.equal(keeper.streamHeld(undefined), undefined);
    assert.equal(keeper.getUnsupported, false);
    keeper.streamUnsupported();
    assert.equal(keeper.getUnsupported, true);
  });

  it('keep-alive: the client’s headers and shared signal are noted, idleness is learned at the current attempt only', () => {
    const { keeper, effects } = setUp({ keepAlive: true });
    assert.equal(keeper.keepsAlive, true);
    const shared = new AbortController().signal;
    const headers = { authorization: 'Bearer token-0123456789' };
    keeper.clientSent(post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers, signal: shared }));
    assert.equal(keeper.clientSignal, undefined, 'one request with a signal says nothing yet');
    keeper.clientSent(post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { headers, signal: shared }));
    assert.equal(keeper.clientSignal, shared, 'the same signal twice: the client’s own');
    assert.equal(keeper.headerSource, headers);
    keeper.clientSent(post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { headers, signal: new AbortController().signal }));
    assert.equal(keeper.clientSignal, undefined);

    const idleSince = keeper.lastSuccessAt;
    keeper.idledOut(0, idleSince + 700);
    void keeper.recoveryStarted(FIRST_LOSS, never);
    keeper.idledOut(0, idleSince + 900);
    keeper.ended();
    assert.deepEqual(effects, ['resume', 'resume', 'resume', 'learned 700', 'stop']);
  });

  it('keep-alive: a ping answered at the current attempt counts as a success; one from before a recovery does not', async () => {
    const { keeper } = setUp({ keepAlive: true });
    const first = keeper.lastSuccessAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    keeper.pingAnswered(0);
    const second = keeper.lastSuccessAt;
    assert.ok(second > first);
    void keeper.recoveryStarted(FIRST_LOSS, never);
    await new Promise((resolve) => setTimeout(resolve, 5));
    keeper.pingAnswered(0);
    assert.equal(keeper.lastSuccessAt, second);
  });

  it('without a keep-alive, the client’s requests and answers leave its fields alone', () => {
    const { keeper, effects } = setUp();
    const before = keeper.lastSuccessAt;
    keeper.clientSent(post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { headers: { authorization: 'Bearer x-0123456789' } }));
    assert.equal(keeper.headerSource, undefined);
    assert.equal(keeper.keepsAlive, false);
    keeper.answered(TOOL_CALL);
    assert.equal(keeper.lastSuccessAt, before);
    assert.deepEqual(effects, []);
  });

  it('scrubber: header values redacted, the alias, the current server id and one more id shortened', () => {
    const { keeper } = setUp();
    void keeper.recoveryStarted(FIRST_LOSS, never);
    keeper.replaced(NEW_SESSION);
    const scrub = keeper.scrubber(
      new Headers({ authorization: 'Bearer secret-token-value', 'mcp-session-id': ALIAS }),
      'third-id-0123456789',
    );
    const said = scrub(`no session ${ALIAS} or ${NEW_SESSION.sessionId} or third-id-0123456789 for secret-token-value`);
    assert.equal(said, 'no session alia… or serv… or thir… for [redacted]');
  });
});
