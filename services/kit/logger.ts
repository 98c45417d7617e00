import { pino, type DestinationStream, type Logger } from 'pino';
import { currentCorrelationId } from './context.ts';

export interface LoggerOptions {
  service: string;
  instance: string;
  level: string;
}

/** Bytes buffered before a write; a timer writes what is buffered at least every FLUSH_INTERVAL_MS. */
const BATCH_BYTES = 8192;
const FLUSH_INTERVAL_MS = 200;

/**
 * One stdout stream per process, written asynchronously in batches, so a busy instance does not pay a
 * system call per log line; no line waits longer than FLUSH_INTERVAL_MS, and pino flushes on exit.
 */
let stdout: (DestinationStream & { flush(): void }) | undefined;
function destination() {
  if (!stdout) {
    const stream = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
    stdout = stream;
    setInterval(() => {
      try {
        stream.flush();
      } catch {
        // a write already in progress: the next tick flushes
      }
    }, FLUSH_INTERVAL_MS).unref();
  }
  return stdout;
}

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
