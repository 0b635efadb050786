// The soak's server process: the dialect server, steered over IPC by the chaos driver, writing
// every execution of `increment` to a log file before it answers, so the count survives restarts.
import { appendFileSync } from 'node:fs';
import { startDialectServer } from '../src/demo/dialect-server.js';
import type { Dialect } from '../src/demo/dialects.js';
import type { SoakCommand, SoakReply } from './soak-protocol.js';

const [portArgument, executionLog] = process.argv.slice(2);
if (executionLog === undefined) throw new Error('usage: soak-server PORT EXECUTION_LOG');

const server = await startDialectServer({
  port: Number(portArgument),
  onExecuted: (key) => appendFileSync(executionLog, `${key ?? ''}\n`),
});

const reply = (message: SoakReply) => process.send?.(message);

process.on('message', (command: SoakCommand) => {
  const done = () => reply({ type: 'done', id: command.id, sabotaged: server.counters.sabotaged.length });
  switch (command.type) {
    case 'drop':
      server.dialect = command.dialect as Dialect;
      server.dropSessions();
      return done();
    case 'sabotage':
      server.faults.sabotage = { kind: command.kind, count: command.count };
      return done();
    case 'delay':
      server.faults.delayMs = command.ms;
      return done();
    case 'suspend':
      void server.suspend(command.ms).then(done);
      return;
    case 'sabotaged':
      return reply({ type: 'sabotaged', id: command.id, keys: [...server.counters.sabotaged] });
    case 'stop':
      // A graceful restart, as a deploy does it: requests in flight finish, then the process exits.
      void server.drain(2000).then(() => {
        reply({ type: 'sabotaged', id: command.id, keys: [...server.counters.sabotaged] });
        setImmediate(() => process.exit(0));
      });
      return;
  }
});

process.stderr.write(`LISTENING ${server.port}\n`);
