import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export const CORRELATION_HEADER = 'x-correlation-id';
const VALID_CORRELATION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's correlation id when it is well formed; otherwise a new UUID. Never trust it further. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && VALID_CORRELATION_ID.test(value) ? value : randomUUID();
}

interface RequestContext {
  correlationId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with `correlationId` visible to every log line and outbound call made inside it. */
export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

/**
 * Captures the current request context; the returned function runs a callback inside it. For callbacks
 * that Node calls from another async context (stream events fire in the socket's).
 */
export function captureContext(): <T>(fn: () => T) => T {
  const store = storage.getStore();
  return store ? (fn) => storage.run(store, fn) : (fn) => fn();
}
