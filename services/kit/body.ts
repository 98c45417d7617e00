import express, { type Request, type RequestHandler } from 'express';
import sjson from 'secure-json-parse';
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

/**
 * Reads an uncompressed body into `req.body` as a Buffer, refusing it (413, connection closed) as soon
 * as it passes `limit`. Compressed bodies go to `inflating` (body-parser), which inflates them under the
 * same limit. The common case skips body-parser's media-type and charset machinery, which the caller
 * has already checked.
 */
function readBody(limit: number, inflating: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return inflating(req, res, next);
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      res.setHeader('Connection', 'close');
      return next(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: Problem) => {
      if (settled) return;
      settled = true;
      req.off('data', onData).off('end', onEnd).off('error', onError);
      if (err) {
        res.setHeader('Connection', 'close');
        req.resume(); // discard the rest; the connection closes after the answer
        return next(err);
      }
      req.body = Buffer.concat(chunks, size);
      next();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onError = () => settle(new Problem(400, 'malformed-request', 'the request body could not be read'));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  };
}

/** `application/json` or `application/<anything>+json`, with any parameters. */
function isJsonMediaType(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a JSON request body: 415 unless the media type is JSON, 413 past `limit` bytes, 400 for
 * malformed JSON, for `__proto__`/`constructor.prototype` keys and for nesting deeper than `maxDepth`.
 * With `optional`, a request with no body at all passes with `req.body` undefined.
 */
export function jsonBody(opts: { limit: number; maxDepth: number; optional?: boolean }): RequestHandler[] {
  const raw = readBody(opts.limit, express.raw({ type: () => true, limit: opts.limit }));
  const absent = (req: Request) =>
    !req.headers['content-type'] &&
    !req.headers['transfer-encoding'] &&
    (req.headers['content-length'] ?? '0') === '0';
  const requireJson: RequestHandler = (req, _res, next) => {
    if (opts.optional && absent(req)) return next();
    const contentType = req.headers['content-type'];
    if (!contentType || !isJsonMediaType(contentType)) {
      next(new Problem(415, 'unsupported-media-type', 'the request body must be application/json'));
      return;
    }
    const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      next(new Problem(415, 'unsupported-media-type', 'the request body must be UTF-8'));
      return;
    }
    next();
  };
  const parse: RequestHandler = (req, _res, next) => {
    if (opts.optional && absent(req)) {
      req.body = undefined;
      return next();
    }
    const buffer: unknown = req.body;
    if (!Buffer.isBuffer(buffer) || buffer.length === 0) {
      next(badRequest('the request body is empty; a JSON object is required'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = sjson.parse(buffer.toString('utf8'), undefined, {
        protoAction: 'error',
        constructorAction: 'error',
      });
    } catch (err) {
      const forbidden =
        err instanceof SyntaxError && err.message === 'Object contains forbidden prototype property';
      next(
        badRequest(
          forbidden
            ? 'the body contains a forbidden key (__proto__ or constructor.prototype)'
            : 'the body is not valid JSON',
        ),
      );
      return;
    }
    if (jsonDepth(parsed) > opts.maxDepth) {
      next(badRequest(`the body is nested deeper than ${opts.maxDepth} levels`));
      return;
    }
    req.body = parsed;
    next();
  };
  return [requireJson, raw, parse];
}
