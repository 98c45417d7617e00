import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Problem } from '../kit/problem.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * `Authorization: Bearer <key>` against the configured keys. Keys are compared as SHA-256 digests in
 * constant time, and every key is compared, so neither timing nor the number of keys leaks a match.
 */
export function requireApiKey(keys: string[], onFailure: () => void): RequestHandler {
  const digests = keys.map(digest);
  const challenge = { 'WWW-Authenticate': 'Bearer realm="phoenix-orch"' };
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    let ok = false;
    if (match) {
      const presented = digest(match[1]!);
      for (const d of digests) ok = timingSafeEqual(presented, d) || ok;
    }
    if (ok) return next();
    onFailure();
    next(
      new Problem(
        401,
        'unauthorized',
        header ? 'the API key is not valid' : 'an API key is required (Authorization: Bearer <key>)',
        {
          headers: challenge,
        },
      ),
    );
  };
}
