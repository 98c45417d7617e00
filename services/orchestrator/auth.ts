import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Problem } from '../kit/problem.ts';

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * `Authorization: Bearer <key>` against the configured keys, in constant time: the presented key is
 * copied into a buffer the size of each configured key and compared with timingSafeEqual, and every
 * key is compared, so the time taken depends on neither the presented key nor which key matched.
 */
export function requireApiKey(keys: string[], onFailure: () => void): RequestHandler {
  const expected = keys.map((k) => ({ key: Buffer.from(k, 'latin1'), scratch: Buffer.alloc(k.length) }));
  const challenge = { 'WWW-Authenticate': 'Bearer realm="phoenix-orch"' };
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    let ok = false;
    if (presented !== undefined) {
      for (const { key, scratch } of expected) {
        scratch.fill(0);
        scratch.write(presented, 0, 'latin1'); // writes at most scratch.length bytes
        const same = timingSafeEqual(scratch, key);
        ok = (same && presented.length === key.length) || ok;
      }
    }
    if (ok) return next();
    onFailure();
    next(
      new Problem(
        401,
        'unauthorized',
        header ? 'the API key is not valid' : 'an API key is required (Authorization: Bearer <key>)',
        { headers: challenge },
      ),
    );
  };
}
