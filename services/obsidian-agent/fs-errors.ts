import type { AgentAction } from '../kit/agent-service.ts';
import { Problem, badRequest, notFound } from '../kit/problem.ts';

/** File system errors that the path a caller gave causes, and how each is told to the caller. */
const CAUSED_BY_THE_PATH: Record<string, string> = {
  ENAMETOOLONG: 'is longer than the file system allows',
  ELOOP: 'leads through a loop of symbolic links',
  ENOTDIR: 'goes through something that is not a folder',
  EISDIR: 'names a folder',
  EEXIST: 'collides with something that exists',
  EINVAL: 'is not a name the file system accepts',
  EILSEQ: 'is not a name the file system accepts',
};

/**
 * The problem a file system error about a path is for the caller: 400 for a path the file system
 * cannot take, 403 for a file the agent may not touch, 404 for one gone meanwhile; undefined for
 * anything else (a full or failing disk), which stays the agent's own failure (5xx).
 */
export function callerProblem(err: unknown, field = 'input.path'): Problem | undefined {
  const e = err as NodeJS.ErrnoException | null;
  // By shape, not instanceof: errors from Node's own fs may come from another realm (as under Jest).
  if (typeof e?.code !== 'string' || typeof e.path !== 'string' || err instanceof Problem) return undefined;
  if (e.code === 'ENOENT') return notFound(`${field}: the note or folder is gone`);
  if (e.code === 'EACCES' || e.code === 'EPERM')
    return new Problem(403, 'forbidden', `${field}: the agent is not allowed to use this file`);
  const message = CAUSED_BY_THE_PATH[e.code];
  return message ? badRequest(`${field} ${message}`, [{ field, message }]) : undefined;
}

const rethrow =
  (field?: string) =>
  (err: unknown): never => {
    throw callerProblem(err, field) ?? err;
  };

/** `work`, with a file system error its caller's path (in `field`) causes answered as that caller's 4xx. */
export const callerErrors = <T>(work: Promise<T>, field?: string): Promise<T> => work.catch(rethrow(field));

/** `action` with every file system error its caller's path causes answered as that caller's 4xx. */
export function withCallerErrors(action: AgentAction): AgentAction {
  const { run, resolve } = action;
  return {
    ...action,
    run: (input, ctx) => callerErrors(run(input, ctx)),
    ...(resolve ? { resolve: (input, ctx) => callerErrors(resolve(input, ctx)) } : {}),
  };
}
