import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'urn:phoenix-orch:problem:';

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem document fields, plus the correlation id and field errors this API adds. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  correlation_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** An error that is answered as a problem document. `slug` names the problem type. */
export class Problem extends Error {
  readonly status: number;
  readonly slug: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    detail: string,
    opts: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = status;
    this.slug = slug;
    this.extensions = opts.extensions ?? {};
    this.headers = opts.headers ?? {};
  }

  body(correlationId?: string, instance?: string): ProblemBody {
    return {
      type: TYPE_BASE + this.slug,
      title: STATUS_CODES[this.status] ?? 'Error',
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(correlationId ? { correlation_id: correlationId } : {}),
      ...this.extensions,
    };
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new Problem(400, 'validation-error', detail, errors ? { extensions: { errors } } : {});
export const notFound = (detail: string) => new Problem(404, 'not-found', detail);
export const conflict = (detail: string, extensions?: Record<string, unknown>) =>
  new Problem(409, 'conflict', detail, extensions ? { extensions } : {});
export const unavailable = (slug: string, detail: string, retryAfterSeconds = 1) =>
  new Problem(503, slug, detail, { headers: { 'Retry-After': String(retryAfterSeconds) } });

export function sendProblem(res: Response, problem: Problem, correlationId?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem.body(correlationId, res.req?.originalUrl?.slice(0, 256))));
}

/**
 * A complete HTTP/1.1 response for places with no Express response object: a refused connection,
 * or a request Node's parser rejected before Express saw it.
 */
export function rawProblemResponse(status: number, slug: string, detail: string): string {
  const body = JSON.stringify(new Problem(status, slug, detail).body());
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}
