// Structured logs with pino: one JSON object per line (on stderr unless a sink is
// given), carrying the node id, the level as a word, an ISO time and the caller's
// fields (a term where the caller knows it). Filtered by level. The `Log` interface is
// what every module uses; nothing outside this file knows pino.

import { pino } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger for `nodeId` that drops lines below `min`. `write` receives each line with
 * its trailing newline (tests pass a sink to keep or silence them); by default lines
 * go to stderr synchronously, so the last lines before a crash are not lost in a buffer.
 */
export function createLog(nodeId: string, min: Level, write?: (line: string) => void): Log {
  const destination = write ? { write } : pino.destination({ dest: 2, sync: true });
  const p = pino(
    {
      level: min,
      base: { node: nodeId, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Errors under either name keep their type, message and stack (not `{}`).
      serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
    },
    destination,
  );
  // The message goes first among the line's own keys (pino would put it last), so a
  // line reads "what happened" before its details, as the logger it replaced wrote it.
  return {
    debug: (msg, fields) => p.debug({ msg, ...fields }),
    info: (msg, fields) => p.info({ msg, ...fields }),
    warn: (msg, fields) => p.warn({ msg, ...fields }),
    error: (msg, fields) => p.error({ msg, ...fields }),
  };
}

/** Redis loglevel names to ours: `verbose` and `notice` both log info. */
export const levelOf = (redisLevel: string): Level =>
  redisLevel === 'debug' ? 'debug' : redisLevel === 'verbose' || redisLevel === 'notice' ? 'info' : 'warn';
