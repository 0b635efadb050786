// Messages between the soak driver and its server process (node IPC).
import type { Sabotage } from '../src/demo/dialect-server.js';

export type SoakCommand = { readonly id: number } & (
  | { readonly type: 'drop'; readonly dialect: string }
  | { readonly type: 'sabotage'; readonly kind: Sabotage; readonly count: number }
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'suspend'; readonly ms: number }
  | { readonly type: 'sabotaged' }
  | { readonly type: 'stop' }
);

export type SoakReply =
  | { readonly type: 'done'; readonly id: number; readonly sabotaged: number }
  | { readonly type: 'sabotaged'; readonly id: number; readonly keys: readonly string[] };
