import { pino, type Logger } from 'pino';
import { currentCorrelationId } from './context.ts';

/** JSON logs; every line carries service, instance, and the correlation id of the request it belongs to. */
export function createLogger(opts: {
  service: string;
  instance: string;
  level: string;
  /** The access log binds the correlation id itself (pino-http); adding it again would duplicate the key. */
  withContext?: boolean;
}): Logger {
  return pino({
    level: opts.level,
    base: { service: opts.service, instance: opts.instance },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin:
      opts.withContext === false
        ? undefined
        : () => {
            const correlationId = currentCorrelationId();
            return correlationId ? { correlation_id: correlationId } : {};
          },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });
}

export type { Logger };
