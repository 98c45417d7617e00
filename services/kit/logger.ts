import { pino, type DestinationStream, type Logger } from 'pino';
import { currentCorrelationId } from './context.ts';

export interface LoggerOptions {
  service: string;
  instance: string;
  level: string;
}

/**
 * One stdout stream per process, written asynchronously: lines are buffered and written in batches, so
 * a busy instance does not pay a system call per log line. pino flushes it on exit.
 */
let stdout: DestinationStream | undefined;
const destination = () => (stdout ??= pino.destination({ dest: 1, sync: false }));

/** pino's ISO timestamp, formatted once per millisecond however many lines share it. */
let lastMs = 0;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

const common = (opts: LoggerOptions) => ({
  level: opts.level,
  base: { service: opts.service, instance: opts.instance },
  timestamp: isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
});

/** JSON logs; every line carries service, instance, and the correlation id of the request it belongs to. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      ...common(opts),
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlation_id: correlationId } : {};
      },
    },
    destination(),
  );
}

/** The access log: one line per request, which names its correlation id itself. */
export function createAccessLogger(opts: LoggerOptions): Logger {
  return pino(common(opts), destination());
}

export type { Logger };
