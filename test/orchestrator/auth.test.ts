import type { Request, Response } from 'express';
import { requireApiKey } from '../../services/orchestrator/auth.ts';
import type { Problem } from '../../services/kit/problem.ts';

const KEYS = ['first-key-0123456789', 'second-key-abcdefghij'];

function check(authorization: string | undefined): { passed: boolean; status?: number } {
  let failures = 0;
  const guard = requireApiKey(KEYS, () => (failures += 1));
  let result: { passed: boolean; status?: number } = { passed: false };
  guard(
    { headers: authorization === undefined ? {} : { authorization } } as Request,
    {} as Response,
    (err?: unknown) => {
      result = err ? { passed: false, status: (err as Problem).status } : { passed: true };
    },
  );
  expect(failures).toBe(result.passed ? 0 : 1);
  return result;
}

test.each([
  ['Bearer first-key-0123456789', true],
  ['Bearer second-key-abcdefghij', true],
  ['bearer second-key-abcdefghij', true], // the scheme is case-insensitive (RFC 9110)
  ['Bearer first-key-012345678', false], // a prefix of a key
  ['Bearer first-key-01234567890', false], // a key plus one character
  ['Bearer first-key-0123456788', false], // last character differs
  ['Bearer Xirst-key-0123456789', false], // first character differs
  ['Bearer ', false],
  ['Basic Zmlyc3Qta2V5', false],
  ['Bearer first-key-0123456789 extra', false],
  [undefined, false],
] as Array<[string | undefined, boolean]>)('%s -> accepted: %s', (header, accepted) => {
  const result = check(header);
  expect(result.passed).toBe(accepted);
  if (!accepted) expect(result.status).toBe(401);
});
