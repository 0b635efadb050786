import { createRequire } from 'node:module';
import { builtPath, type Child, startNode } from './processes.js';

const require = createRequire(import.meta.url);
const entry = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const loopbackOnly = builtPath('./loopback-only.js', import.meta.url);

/** The official reference server, `server-everything streamableHttp`, bound to 127.0.0.1. */
export interface EverythingServer extends Child {
  readonly port: number;
  readonly url: string;
}

/** Starts server-everything on `port` (0: any free port). */
export async function startEverything(port = 0): Promise<EverythingServer> {
  const child = await startNode(['--import', loopbackOnly, entry, 'streamableHttp'], {
    env: { PORT: String(port) },
    ready: /LOOPBACK_PORT=(\d+)/,
  });
  const bound = Number(child.match[1]);
  return { ...child, port: bound, url: `http://127.0.0.1:${bound}/mcp` };
}

/** Kills the server and starts a fresh one on the same port: every session is gone. */
export async function restartEverything(server: EverythingServer): Promise<EverythingServer> {
  await server.stop();
  return startEverything(server.port);
}
