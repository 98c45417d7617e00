import CircuitBreaker from 'opossum';
import { BREAKER_STATES, type BreakerState } from '../../platform/metrics.ts';
import { int } from './config.ts';
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

type SettingName<P extends string> =
  | `${P}BREAKER_ERROR_THRESHOLD_PERCENT`
  | `${P}BREAKER_VOLUME_THRESHOLD`
  | `${P}BREAKER_ROLLING_WINDOW_MS`
  | `${P}BREAKER_RESET_TIMEOUT_MS`;

/** The configuration of the breakers over `what` (`each agent pool`), named `<prefix>BREAKER_*`. */
export function breakerConfig<P extends string>(prefix: P, what: string) {
  return {
    [`${prefix}BREAKER_ERROR_THRESHOLD_PERCENT`]: int(50, 1, 100).describe(
      `Failure percentage in the rolling window that opens the breaker of ${what}.`,
    ),
    [`${prefix}BREAKER_VOLUME_THRESHOLD`]: int(5, 1, 10000).describe(
      `Calls in the window before the breaker of ${what} may open.`,
    ),
    [`${prefix}BREAKER_ROLLING_WINDOW_MS`]: int(10000, 1000, 600000).describe(
      `Statistics window of the breaker of ${what}.`,
    ),
    [`${prefix}BREAKER_RESET_TIMEOUT_MS`]: int(10000, 100, 600000).describe(
      `How long an open breaker of ${what} rejects calls before letting one through (half-open).`,
    ),
  } as Record<SettingName<P>, ReturnType<typeof int>>;
}

/** The settings `breakerConfig(prefix)` parsed into. */
export function breakerSettings<P extends string>(
  config: Record<SettingName<P>, number>,
  prefix: P,
): BreakerSettings {
  return {
    errorThresholdPercentage: config[`${prefix}BREAKER_ERROR_THRESHOLD_PERCENT`],
    volumeThreshold: config[`${prefix}BREAKER_VOLUME_THRESHOLD`],
    rollingWindowMs: config[`${prefix}BREAKER_ROLLING_WINDOW_MS`],
    resetTimeoutMs: config[`${prefix}BREAKER_RESET_TIMEOUT_MS`],
  };
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
