import type { TaskOutcome } from './task-runner.ts';

/**
 * A task's answer as JSON text: `before`'s fields, the output, then `after`'s fields (undefined ones
 * left out). The output is already JSON (from Redis, memory or the agent), so it is spliced in, not
 * parsed and encoded again.
 */
function withOutput(before: Record<string, unknown>, outputJson: string, after: Record<string, unknown>) {
  const fields = (o: Record<string, unknown>) =>
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${[...fields(before), `"output":${outputJson}`, ...fields(after)].join(',')}}`;
}

/** The body of a synchronous `POST /v1/tasks`: `{agent, action, output, session?}`. */
export const syncAnswerJson = (task: { agent: string; action: string }, outcome: TaskOutcome) =>
  withOutput({ agent: task.agent, action: task.action }, outcome.outputJson, { session: outcome.session });

/** The stored result of an async task: `{output, cache, session?}`. */
export const asyncResultJson = (outcome: TaskOutcome) =>
  withOutput({}, outcome.outputJson, { cache: outcome.cache, session: outcome.session });
