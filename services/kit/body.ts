import express, { type Request, type RequestHandler, type Response } from 'express';
import sjson from 'secure-json-parse';
import { captureContext } from './context.ts';
import { Problem, badRequest } from './problem.ts';

/** Deepest nesting of arrays and objects in `value`, walked iteratively so hostile input cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) max = depth;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

const tooLarge = () => new Problem(413, 'payload-too-large', 'the request body is too large');

/** `application/json` or `application/<anything>+json`, with any parameters. */
function isJsonMediaType(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** A 415 for a body that is not UTF-8 JSON; undefined when it is. */
function mediaTypeProblem(contentType: string | undefined): Problem | undefined {
  if (!contentType || !isJsonMediaType(contentType)) {
    return new Problem(415, 'unsupported-media-type', 'the request body must be application/json');
  }
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    return new Problem(415, 'unsupported-media-type', 'the request body must be UTF-8');
  }
  return undefined;
}

/** Parses UTF-8 JSON text, refusing prototype-polluting keys and deep nesting. */
function parseJson(buffer: Buffer, maxDepth: number): unknown {
  if (buffer.length === 0) throw badRequest('the request body is empty; a JSON object is required');
  let parsed: unknown;
  try {
    parsed = sjson.parse(buffer.toString('utf8'), undefined, {
      protoAction: 'error',
      constructorAction: 'error',
    });
  } catch (err) {
    const forbidden =
      err instanceof SyntaxError && err.message === 'Object contains forbidden prototype property';
    throw badRequest(
      forbidden
        ? 'the body contains a forbidden key (__proto__ or constructor.prototype)'
        : 'the body is not valid JSON',
    );
  }
  // Each level of nesting takes at least one byte: shorter text cannot be too deep.
  if (buffer.length > maxDepth && jsonDepth(parsed) > maxDepth)
    throw badRequest(`the body is nested deeper than ${maxDepth} levels`);
  return parsed;
}

/**
 * Reads an uncompressed body, refusing it as soon as it passes `limit` (the rest is discarded and the
 * connection closed after the answer). Stream events fire in the socket's async context, so `done`
 * runs back in the request's: what follows (and every log line it writes) keeps its correlation id.
 */
function readIdentityBody(
  req: Request,
  res: Response,
  limit: number,
  done: (err?: Problem, body?: Buffer) => void,
) {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    res.setHeader('Connection', 'close');
    return done(tooLarge());
  }
  const resume = captureContext();
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (err?: Problem) => {
    if (settled) return;
    settled = true;
    req.off('data', onData).off('end', onEnd).off('error', onError);
    if (err) {
      res.setHeader('Connection', 'close');
      req.resume();
      return resume(() => done(err));
    }
    const body = Buffer.concat(chunks, size);
    resume(() => done(undefined, body));
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) settle(tooLarge());
    else chunks.push(chunk);
  };
  const onEnd = () => settle();
  const onError = () => settle(new Problem(400, 'malformed-request', 'the request body could not be read'));
  req.on('data', onData).on('end', onEnd).on('error', onError);
}

/**
 * Reads a JSON request body into `req.body`, in one middleware: 415 unless the media type is UTF-8
 * JSON, 413 past `limit` bytes, 400 for malformed JSON, for `__proto__`/`constructor.prototype` keys
 * and for nesting deeper than `maxDepth`. Compressed bodies are inflated by body-parser under the same
 * limit. With `optional`, a request with no body at all passes with `req.body` undefined.
 */
export function jsonBody(opts: { limit: number; maxDepth: number; optional?: boolean }): RequestHandler {
  const inflate = express.raw({ type: () => true, limit: opts.limit });
  return (req, res, next) => {
    const contentType = req.headers['content-type'];
    if (
      opts.optional &&
      !contentType &&
      !req.headers['transfer-encoding'] &&
      (req.headers['content-length'] ?? '0') === '0'
    ) {
      req.body = undefined;
      return next();
    }
    const wrongType = mediaTypeProblem(contentType);
    if (wrongType) return next(wrongType);
    const parse = (err?: unknown, buffer?: unknown) => {
      if (err) return next(err);
      try {
        req.body = parseJson(Buffer.isBuffer(buffer) ? buffer : Buffer.alloc(0), opts.maxDepth);
      } catch (problem) {
        return next(problem);
      }
      next();
    };
    const encoding = req.headers['content-encoding'];
    if (encoding === undefined || encoding.toLowerCase() === 'identity') {
      return readIdentityBody(req, res, opts.limit, parse);
    }
    inflate(req, res, (err?: unknown) => parse(err, req.body));
  };
}
