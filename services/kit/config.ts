import os from 'node:os';
import { z } from 'zod';
import { MAX_CONNECTIONS } from '../../platform/limits.ts';
import { REDIS } from '../../platform/workloads.ts';

/** Thrown when the environment does not describe a runnable service; names every bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** An integer variable with a default and bounds. */
export const int = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);
const optionalNumber = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.coerce.number().positive().optional(),
);

/** `host:port` pairs separated by commas. */
const hostPorts = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'expected host:port[,host:port...]')
  .transform((s) =>
    s.split(',').map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    }),
  );

/**
 * Variables every service understands. Each service extends this with its own.
 * `.describe()` texts become the README's configuration table (scripts/config-table.ts).
 */
export const baseConfigSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0').describe('Address to listen on.'),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9._-]')
    .default(`${os.hostname()}-${process.pid}`)
    .describe(
      'Instance name used in logs, metrics, `X-Served-By` and Redis. In Kubernetes the pod name (Downward API).',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  MAX_CONNECTIONS: int(MAX_CONNECTIONS, 1, 100000).describe(
    'Concurrent client connections accepted; more are answered 503 and closed (the seed 2.2 limit).',
  ),
  BODY_LIMIT_BYTES: int(1048576, 1024, 64 * 1048576).describe(
    'Largest accepted request body; larger is 413.',
  ),
  MAX_JSON_DEPTH: int(32, 2, 1000).describe(
    'Deepest accepted JSON nesting in a request body; deeper is 400.',
  ),
  SHUTDOWN_DRAIN_DELAY_MS: int(5000, 0, 600000).describe(
    'After SIGTERM: how long to keep serving with readiness false, so load balancers stop sending.',
  ),
  SHUTDOWN_TIMEOUT_MS: int(20000, 100, 600000).describe(
    'After the drain delay: bound for in-flight requests and closing Redis; past it the process exits 1.',
  ),
  KEEP_ALIVE_TIMEOUT_MS: int(65000, 1000, 600000).describe(
    'Idle keep-alive timeout; above the load balancer idle timeout so it never reuses a closed socket.',
  ),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected redis:// or rediss:// URL')
    .optional()
    .describe('Single Redis (development). Ignored when `REDIS_SENTINELS` is set.'),
  REDIS_SENTINELS: hostPorts
    .optional()
    .describe('Sentinels as `host:port,host:port` (production); with `REDIS_MASTER_NAME`.'),
  REDIS_MASTER_NAME: z.string().min(1).default(REDIS.masterName).describe('Sentinel master name.'),
  REDIS_PASSWORD: z.string().optional().describe('Redis password (from a Secret).'),
  REDIS_SENTINEL_PASSWORD: z.string().optional().describe('Sentinel password, if Sentinels require one.'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,32}$/)
    .default('po:')
    .describe('Prefix of every Redis key and channel this service uses.'),
  REDIS_COMMAND_TIMEOUT_MS: int(1000, 10, 60000).describe(
    'A Redis command slower than this fails; the request continues uncached.',
  ),
  CPU_LIMIT: optionalNumber.describe(
    'CPU limit in cores, exported as a metric (Downward API `limits.cpu`); unset when unlimited.',
  ),
  GIT_COMMIT: z
    .preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9._-]')
        .default('unknown'),
    )
    .describe(
      'The git commit the service was built from, the `commit` label of `*_build_info`: the image sets it from its `GIT_COMMIT` build argument, the local stack from `git rev-parse HEAD`.',
    ),
  MEMORY_LIMIT: optionalNumber.describe(
    'Memory limit in bytes, exported as a metric (Downward API `limits.memory`); unset when unlimited.',
  ),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Parses `env` with `schema`, or throws a ConfigError naming each bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? String(issue.path[0]) : '(environment)';
    const raw = env[name];
    const shown =
      raw === undefined
        ? 'unset'
        : /KEY|PASSWORD|SECRET|TOKEN/.test(name)
          ? '<redacted>'
          : JSON.stringify(raw);
    return `${name}: ${issue.message} (got ${shown})`;
  });
  throw new ConfigError(problems);
}

/** Comma-separated list of non-empty strings. */
export const commaList = (minItemLength = 1) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(minItemLength)).min(1));
