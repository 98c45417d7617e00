export interface CheckResult {
  ok: boolean;
  detail?: unknown;
}

interface Check {
  /** A failing required check makes the instance unready (503); a failing optional one makes it degraded (200). */
  required: boolean;
  run: () => CheckResult;
}

export type HealthStatus = 'starting' | 'ok' | 'degraded' | 'unavailable' | 'draining';

/** The instance's health as load balancers, Kubernetes probes and people see it. Checks read cached state only. */
export class Health {
  private started = false;
  private drainingSince: number | undefined;
  private readonly checks = new Map<string, Check>();

  register(name: string, required: boolean, run: () => CheckResult): void {
    this.checks.set(name, { required, run });
  }

  markStarted(): void {
    this.started = true;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  report(): {
    status: HealthStatus;
    ready: boolean;
    checks: Record<string, CheckResult & { required: boolean }>;
  } {
    const checks: Record<string, CheckResult & { required: boolean }> = {};
    let requiredFailing = false;
    let optionalFailing = false;
    for (const [name, check] of this.checks) {
      let result: CheckResult;
      try {
        result = check.run();
      } catch (err) {
        result = { ok: false, detail: String(err) };
      }
      checks[name] = { ...result, required: check.required };
      if (!result.ok) {
        if (check.required) requiredFailing = true;
        else optionalFailing = true;
      }
    }
    const status: HealthStatus = this.draining
      ? 'draining'
      : !this.started
        ? 'starting'
        : requiredFailing
          ? 'unavailable'
          : optionalFailing
            ? 'degraded'
            : 'ok';
    return { status, ready: status === 'ok' || status === 'degraded', checks };
  }
}
