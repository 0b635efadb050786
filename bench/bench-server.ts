// The bench's MCP server in a process of its own, as a remote server is: the dialect server on
// 127.0.0.1, answering JSON or SSE as argv says. Prints "LISTENING <url>" on stderr.
import { startDialectServer } from '../src/demo/dialect-server.js';

const server = await startDialectServer({ jsonResponse: process.argv[2] === 'json' });
process.stderr.write(`LISTENING ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
