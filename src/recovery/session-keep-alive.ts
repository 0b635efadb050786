import { type AnswerJudge, lossReport } from './answer-judge.js';
import type { RequestLike } from './event-reporter.js';
import { type KeepAlive, startKeepAlive } from './keep-alive.js';
import type { RecoveryContext } from './recovery-context.js';
import type { SessionKeeper } from './session-keeper.js';

// What a keep-alive ping carries, as events report it.
const PING_MESSAGE = { rpcMethod: 'ping' };

/**
 * How each session's keep-alive starts (option `keepAlive`), or undefined when it is off. Its
 * pings go through the judge's `ping`; a loss they meet marks the session dead, so the next
 * request re-initializes before it is sent.
 */
export function keepAliveStarter(
  context: RecoveryContext,
  judge: AnswerJudge,
): ((keeper: SessionKeeper, url: string) => KeepAlive) | undefined {
  const policy = context.config.keepAlive;
  if (policy.mode === 'off') return undefined;
  const { events } = context;
  return (keeper, url) => {
    // The pings, as events report them.
    const pings: RequestLike = { url, method: 'POST', messages: () => PING_MESSAGE };
    return startKeepAlive({
      policy,
      lastSuccessAt: () => keeper.lastSuccessAt,
      usable: () => keeper.phase.kind === 'live',
      over: () => keeper.clientSignal?.aborted === true,
      onInterval: (change) => events.keepAlive(url, { serverId: keeper.serverId, ...change }),
      ping: async () => {
        const sentAt = keeper.attempts;
        const serverId = keeper.serverId;
        const time = Date.now();
        const check = await judge.ping(keeper, new Headers(keeper.headerSource), serverId);
        if (check.state === 'alive') {
          keeper.pingAnswered(sentAt);
          return;
        }
        if (check.state === 'unconfirmed') {
          events.keepAliveFailed(url, { serverId, reason: check.reason });
          return;
        }
        const scrub = keeper.scrubber(new Headers(keeper.headerSource));
        const report = lossReport({ rule: check.verdict.rule, serverMessage: scrub(check.verdict.serverMessage) }, check.status);
        events.sessionLost(pings, { loss: report, knownBy: 'ping', serverId });
        if (keeper.attempts !== sentAt) return;
        keeper.idledOut(sentAt, time);
        // The next request re-initializes before it is sent: nothing is re-sent, and no session is
        // opened for a client that may never call again.
        keeper.lostAt(sentAt, report);
      },
    });
  };
}
