/**
 * Which build runs, for the `*_build_info` metric: the package version (package.json, found upwards
 * from this module both in the source tree and in the image’s compiled `dist/`), the git commit the
 * build was made from (GIT_COMMIT), and the Node.js version.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseConfig } from './config.ts';

const PACKAGE_NAME = 'phoenix-orch';
/** services/kit in the source tree, dist/services/kit in the image: the root is at most this far up. */
const MAX_LEVELS = 4;

/** The version of package.json of phoenix-orch above `from`, or "unknown" when there is none. */
export function packageVersion(from = import.meta.dirname): string {
  let dir = from;
  for (let level = 0; level <= MAX_LEVELS; level++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here, or not JSON: look further up
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

export function buildInfo(config: Pick<BaseConfig, 'GIT_COMMIT'>) {
  return { version: packageVersion(), commit: config.GIT_COMMIT, node_version: process.versions.node };
}
