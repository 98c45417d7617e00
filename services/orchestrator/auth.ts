import type { RequestHandler } from 'express';
import { Problem } from '../kit/problem.ts';

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

/**
 * Compares `presented` with `key` in time that depends only on the key's length: every character of
 * the key is compared, differences are accumulated without branching, and a length mismatch is folded
 * into the same accumulator.
 */
function constantTimeEquals(presented: string, key: string): boolean {
  let diff = presented.length ^ key.length;
  for (let i = 0; i < key.length; i += 1) diff |= (presented.charCodeAt(i) | 0) ^ key.charCodeAt(i);
  return diff === 0;
}

/**
 * `Authorization: Bearer <key>` against the configured keys, in constant time; every key is compared,
 * so neither the presented key nor which key matched changes the time taken.
 */
export function requireApiKey(keys: string[], onFailure: () => void): RequestHandler {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="phoenix-orch"' };
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    let ok = false;
    if (presented !== undefined) {
      for (const key of keys) ok = constantTimeEquals(presented, key) || ok;
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
