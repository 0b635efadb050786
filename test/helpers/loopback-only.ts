// Preloaded (node --import) into third-party servers that listen on all interfaces, such as
// server-everything: binds them to 127.0.0.1 instead and prints the port actually bound.
import net from 'node:net';

const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnLoopback(this: net.Server, ...args: unknown[]) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    this.once('listening', () => {
      const address = this.address();
      if (typeof address === 'object' && address !== null) process.stderr.write(`LOOPBACK_PORT=${address.port}\n`);
    });
    return listen.call(this, { port: Number(first), host: '127.0.0.1' }, callback);
  }
  return listen.apply(this, args as Parameters<typeof listen>);
} as typeof listen;
