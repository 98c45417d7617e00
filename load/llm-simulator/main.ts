/**
 * Runs the LLM provider simulator (a stand-in for an OpenAI-compatible provider, never a real one) as a
 * process on 127.0.0.1. Env (all optional): PORT (0 = any free port), SIM_NAME, SIM_MODELS (comma list;
 * empty serves any model), SIM_API_KEY (required Bearer key), SIM_LATENCY_DISTRIBUTION
 * (fixed|uniform|normal), SIM_LATENCY_MIN_MS, SIM_LATENCY_MAX_MS, SIM_LATENCY_MEAN_MS,
 * SIM_LATENCY_STDDEV_MS, SIM_ERROR_RATE (0..1), SIM_ERROR_STATUS (500|503), SIM_RATE_LIMIT_RATE (0..1),
 * SIM_RETRY_AFTER, SIM_HANG_RATE (0..1), SIM_MAX_HANG_MS. Logs one JSON line
 * `{"msg":"llm simulator listening","port":...}` when ready; SIGTERM/SIGINT stop it.
 */
import { z } from 'zod';
import { startLlmSimulator } from './simulator.ts';

const rate = z.coerce.number().min(0).max(1).default(0);
const ms = (def: number) => z.coerce.number().int().min(0).max(600000).default(def);
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SIM_NAME: z.string().min(1).default('llm-simulator'),
  SIM_MODELS: z.string().default(''),
  SIM_API_KEY: z.string().min(1).optional(),
  SIM_LATENCY_DISTRIBUTION: z.enum(['fixed', 'uniform', 'normal']).default('fixed'),
  SIM_LATENCY_MIN_MS: ms(0),
  SIM_LATENCY_MAX_MS: ms(0),
  SIM_LATENCY_MEAN_MS: ms(0).optional(),
  SIM_LATENCY_STDDEV_MS: ms(0).optional(),
  SIM_ERROR_RATE: rate,
  SIM_ERROR_STATUS: z.enum(['500', '503']).default('500'),
  SIM_RATE_LIMIT_RATE: rate,
  SIM_RETRY_AFTER: z.string().default('1'),
  SIM_HANG_RATE: rate,
  SIM_MAX_HANG_MS: ms(30000),
});

const parsed = schema.safeParse(process.env);
if (!parsed.success) {
  for (const i of parsed.error.issues)
    process.stderr.write(`llm-simulator: ${i.path.join('.')}: ${i.message}\n`);
  process.exit(78);
}
const env = parsed.data;
const sim = await startLlmSimulator({
  port: env.PORT,
  name: env.SIM_NAME,
  behaviour: {
    latency: {
      distribution: env.SIM_LATENCY_DISTRIBUTION,
      min_ms: env.SIM_LATENCY_MIN_MS,
      max_ms: Math.max(env.SIM_LATENCY_MIN_MS, env.SIM_LATENCY_MAX_MS),
      ...(env.SIM_LATENCY_MEAN_MS !== undefined ? { mean_ms: env.SIM_LATENCY_MEAN_MS } : {}),
      ...(env.SIM_LATENCY_STDDEV_MS !== undefined ? { stddev_ms: env.SIM_LATENCY_STDDEV_MS } : {}),
    },
    error_rate: env.SIM_ERROR_RATE,
    error_status: Number(env.SIM_ERROR_STATUS) as 500 | 503,
    rate_limit_rate: env.SIM_RATE_LIMIT_RATE,
    retry_after: env.SIM_RETRY_AFTER,
    hang_rate: env.SIM_HANG_RATE,
    max_hang_ms: env.SIM_MAX_HANG_MS,
    models: env.SIM_MODELS.split(',')
      .map((m) => m.trim())
      .filter(Boolean),
    ...(env.SIM_API_KEY ? { api_key: env.SIM_API_KEY } : {}),
  },
});
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), service: sim.name, msg, ...extra })}\n`,
  );
log('llm simulator listening', { port: sim.port, simulator: true });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void sim.stop().then(() => process.exit(0));
  });
}
