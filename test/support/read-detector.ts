import { readFileSync, statSync, utimesSync } from 'node:fs';

const DAY_S = 86400;

/**
 * Tells whether files were read since `arm()`: their access and modification times are set three
 * days back, so the next read moves the access time even under `relatime` (the Linux default).
 * Compare what changed by size and modification time after arming, without reading the files.
 * `check()` proves on a control file that this file system records reads at all.
 */
export function readDetector(files: string[]) {
  const past = Date.now() / 1000 - 3 * DAY_S;
  const arm = () => {
    for (const f of files) utimesSync(f, past, past);
  };
  const read = () => files.filter((f) => statSync(f).atimeMs / 1000 > past + DAY_S);
  return {
    arm,
    /** The armed files read since `arm()`. */
    read,
    /** Throws unless reading an armed file shows up: a file system mounted `noatime` would hide reads. */
    check(control: string) {
      utimesSync(control, past, past);
      readFileSync(control);
      if (statSync(control).atimeMs / 1000 <= past + DAY_S)
        throw new Error(`reads are not recorded on the file system of ${control} (noatime?)`);
    },
  };
}
