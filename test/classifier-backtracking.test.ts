// A hostile or merely chatty server must not stall the classifier: the wording patterns run on
// every error body a server sends, so each must stay near-linear on adversarial text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifySessionLoss, SESSION_LOSS_WORDING } from '../src/index.js';

/** A 400 body that echoes the request's headers, as careless servers do. */
const ECHOED_HEADERS = `error: request was ${JSON.stringify({
  host: '127.0.0.1:46205',
  authorization: 'Bearer sk-live-4f9a8b7c6d5e',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-session-id': '3b241b0e-5d2c-4b7e-9d59-0a3f1c7c8e21',
  'mcp-protocol-version': '2025-06-18',
  'user-agent': 'node',
  'content-length': '97',
})}`;

describe('classifier: no catastrophic backtracking', () => {
  it('an echo of the request headers is classified in milliseconds, not seconds (was 4.6 s)', () => {
    const started = performance.now();
    const verdict = classifySessionLoss({
      method: 'POST',
      hadSessionId: true,
      status: 400,
      contentType: 'text/plain',
      body: ECHOED_HEADERS,
    });
    const elapsed = performance.now() - started;
    assert.equal(verdict.lost, false);
    // A bound 100× above what it takes, so load on the machine cannot fail it; the bug took 4,600 ms.
    assert.ok(elapsed < 500, `took ${elapsed.toFixed(0)} ms`);
  });

  it('random mixes of the words the patterns look for stay fast at the classifier input size', () => {
    const pieces = [
      'session',
      'Session ID',
      'mcp-session-id',
      '"',
      "'",
      ':',
      '-',
      ',',
      ' ',
      '1',
      'a1b2c3d4e5',
      '(',
      ')',
      'is',
      'header',
      'invalid',
      'not',
      '{',
      '}',
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let worst = 0;
    for (let round = 0; round < 200; round++) {
      let text = '';
      while (text.length < 2048) text += pieces[Math.floor(random() * pieces.length)];
      for (const pattern of SESSION_LOSS_WORDING) {
        const started = performance.now();
        pattern.test(text.slice(0, 2048));
        worst = Math.max(worst, performance.now() - started);
      }
    }
    assert.ok(worst < 500, `worst ${worst.toFixed(0)} ms`);
  });
});
