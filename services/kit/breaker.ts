import CircuitBreaker from 'opossum';
import { BREAKER_STATES, type BreakerState } from '../../platform/metrics.ts';
import type { client } from './metrics.ts';

/** An opossum breaker around calls that each return a `T`: `fire(() => call())`. */
export type Breaker<T> = CircuitBreaker<[() => Promise<T>], T>;

export interface BreakerSettings {
  /** Failure percentage in the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open. */
  volumeThreshold: number;
  rollingWindowMs: number;
  /** How long an open breaker rejects calls before letting one through (half-open). */
  resetTimeoutMs: number;
}

export const breakerState = (b: Breaker<unknown>): BreakerState =>
  b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';

/**
 * A circuit breaker over one dependency, its state kept one-hot on `gauge` (1 for the current state of
 * BREAKER_STATES, 0 for the others) under `labels`. Errors `isCallerError` accepts are the caller's, not
 * the dependency's: they never count against it. No timeout of its own: the callers bound their calls.
 */
export function createBreaker<T, L extends string>(opts: {
  name: string;
  settings: BreakerSettings;
  isCallerError: (err: unknown) => boolean;
  gauge: client.Gauge<L>;
  labels: Partial<Record<L, string>>;
  onTransition?: (state: BreakerState) => void;
}): Breaker<T> {
  const { settings } = opts;
  const breaker: Breaker<T> = new CircuitBreaker((thunk: () => Promise<T>) => thunk(), {
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    rollingCountTimeout: settings.rollingWindowMs,
    rollingCountBuckets: 10,
    resetTimeout: settings.resetTimeoutMs,
    errorFilter: opts.isCallerError,
    name: opts.name,
  });
  const report = () => {
    const current = breakerState(breaker);
    for (const state of BREAKER_STATES) {
      opts.gauge.set({ ...opts.labels, state } as Partial<Record<L, string>>, state === current ? 1 : 0);
    }
  };
  const transition = (state: BreakerState) => () => {
    report();
    opts.onTransition?.(state);
  };
  breaker.on('open', transition('open'));
  breaker.on('halfOpen', transition('half_open'));
  breaker.on('close', transition('closed'));
  report();
  return breaker;
}
