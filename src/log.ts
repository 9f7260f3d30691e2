// A small structured logger: one JSON object per line on stderr, with the node id,
// filtered by level. Issue 6 replaces it with pino; the interface stays.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Readonly<Record<Level, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLog(nodeId: string, min: Level, write: (line: string) => void = (l) => process.stderr.write(l)): Log {
  const at = (level: Level) => (msg: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[level] < ORDER[min]) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, node: nodeId, msg, ...fields })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Redis loglevel names to ours. */
export const levelOf = (redisLevel: string): Level =>
  redisLevel === 'debug' ? 'debug' : redisLevel === 'verbose' || redisLevel === 'notice' ? 'info' : 'warn';
